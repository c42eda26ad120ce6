// Your service (here nginx as "shop") watched by ch2 in a test of your own.
// npm install --save-dev <path to a ch2 checkout> testcontainers; npm test
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GenericContainer, Network } from 'testcontainers';
import { Ch2AgentContainer, Ch2MailerContainer } from 'ch2/testcontainers';

test('the shop going down raises a down alert', { timeout: 60_000 }, async () => {
  await using net = await new Network().start();
  await using web = await new GenericContainer('nginx:latest').withNetwork(net).withNetworkAliases('shop').start();
  await using mailer = await new Ch2MailerContainer().withNetwork(net).start();
  await using agent = await new Ch2AgentContainer().withNetwork(net).withTarget('http://shop/').withMailer(mailer).start();

  await web.stop();
  const alert = await mailer.waitForAlert({ status: 'down' }, { timeout: 10_000 });
  assert.equal(alert.target, 'http://shop/');
  assert.equal(alert.to, 'admin@work');
  assert.match(alert.message, /down/);
  assert.match(await agent.getMetrics(), /ch2_target_up\{target="http:\/\/shop\/"\} 0/);
});
