// testcontainers' health wait strategy against the daemon at DOCKER_HOST
// (tests/e2e/B3_node.bats).  Ryuk (its reaper container) is an image from
// Docker Hub: the test disables it (TESTCONTAINERS_RYUK_DISABLED=true) and
// stops the container itself.
'use strict';
const { GenericContainer, Wait } = require('testcontainers');

async function main() {
  const mode = process.argv[2] || 'healthy';
  const cmd = mode === 'healthy'
    ? ['sh', '-c', 'sleep 2; touch /tmp/ready; exec sleep 300']
    : ['sleep', '300'];
  const t0 = Date.now();
  let container;
  try {
    container = await new GenericContainer('busybox:latest')
      .withCommand(cmd)
      .withHealthCheck({ test: ['CMD-SHELL', 'test -f /tmp/ready'], interval: 1000, timeout: 1000, retries: 2, startPeriod: 0 })
      .withWaitStrategy(Wait.forHealthCheck())
      .withStartupTimeout(20000)
      .start();
  } catch (e) {
    console.log(`start failed: ${e.message}`);
    process.exit(3);
  }
  const info = await container.exec(['cat', '/proc/1/cmdline']);
  console.log(`started after ${Math.round((Date.now() - t0) / 1000)}s, exec exit ${info.exitCode}`);
  await container.stop({ timeout: 1 });
  console.log('stopped');
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
