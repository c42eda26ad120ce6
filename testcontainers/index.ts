/**
 * ch2/testcontainers: ch2's mailer, agent and SMTP sink as testcontainers
 * modules, for your own tests (the README's "ch2 in your own tests";
 * examples/testcontainers/ is one to copy). `testcontainers` is a peer
 * dependency: the classes extend its GenericContainer.
 */
export { Ch2MailerContainer, StartedCh2MailerContainer, MAILER_PORT } from './mailer-container.ts';
export type { Ch2StoredAlert, SilenceRequest, SmtpServer } from './mailer-container.ts';
export { Ch2AgentContainer, StartedCh2AgentContainer, METRICS_PORT } from './agent-container.ts';
export type { Duration } from './agent-container.ts';
export { Ch2SmtpSinkContainer, StartedCh2SmtpSinkContainer, SMTP_PORT, SINK_HTTP_PORT } from './smtp-sink-container.ts';
export type { SinkHook, SinkMessage } from './smtp-sink-container.ts';
export { AlertTimeoutError } from './alert-stream.ts';
export type { AlertMatch, Ch2Alert, WaitForAlertOptions } from './alert-stream.ts';
