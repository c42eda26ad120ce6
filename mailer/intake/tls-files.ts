/**
 * --tls-cert and --tls-key: the mailer's certificate chain and private key,
 * read and checked at start (unreadable, not PEM, an encrypted key, a key
 * that does not match the certificate: a ConfigError with one line, exit 2).
 * The paths are not secrets (a Docker secret is a file already: TLS_KEY=/run/secrets/key);
 * the key's content is, and is never printed.
 */
import { readFileSync } from 'node:fs';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { createSecureContext } from 'node:tls';
import { ConfigError } from '../../shared/config.ts';
import { flatten } from '../../shared/text.ts';

export interface TlsFiles {
  cert: string;
  key: string;
  /** The leaf certificate's end of validity, ms. */
  validTo: number;
}

function read(flag: string, path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`${flag}: ${flatten(path, 200)} cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}).`);
  }
}

export function loadTlsFiles(certPath: string, keyPath: string): TlsFiles {
  const cert = read('--tls-cert (TLS_CERT)', certPath);
  const key = read('--tls-key (TLS_KEY)', keyPath);
  if (!/-----BEGIN CERTIFICATE-----/.test(cert)) throw new ConfigError(`--tls-cert (TLS_CERT): ${flatten(certPath, 200)} holds no PEM certificate (-----BEGIN CERTIFICATE-----).`);
  if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(key)) throw new ConfigError(`--tls-key (TLS_KEY): ${flatten(keyPath, 200)} holds no PEM private key (-----BEGIN … PRIVATE KEY-----).`);
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(cert);
  } catch {
    throw new ConfigError(`--tls-cert (TLS_CERT): ${flatten(certPath, 200)} is not a valid PEM certificate.`);
  }
  let privateKey: ReturnType<typeof createPrivateKey>;
  try {
    privateKey = createPrivateKey(key);
  } catch (err) {
    const encrypted = /passphrase/i.test((err as Error).message);
    throw new ConfigError(`--tls-key (TLS_KEY): ${flatten(keyPath, 200)} ${encrypted ? 'is encrypted; give the key without a passphrase' : 'is not a valid PEM private key'} (the key is not shown).`);
  }
  if (!leaf.checkPrivateKey(privateKey)) throw new ConfigError(`--tls-key (TLS_KEY): ${flatten(keyPath, 200)} does not match the certificate in ${flatten(certPath, 200)} (--tls-cert).`);
  try {
    createSecureContext({ cert, key });
  } catch (err) {
    throw new ConfigError(`--tls-cert/--tls-key: cannot be used together: ${flatten((err as Error).message, 200)}.`);
  }
  return { cert, key, validTo: Date.parse(leaf.validTo) };
}
