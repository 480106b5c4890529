// Starts the AT Protocol's own development network (@atproto/dev-env's TestNetwork: a PLC
// directory, a PDS, the Bluesky AppView with its dataplane, bsync and Ozone) on free loopback
// ports, for tests/platforms/test_bluesky_pds.py.
//
//   node pds_dev_env.mjs <dir holding node_modules/@atproto/dev-env>
//
// Needs Node >= 22 and DB_POSTGRES_URL (the AppView, bsync and Ozone keep their data in
// Postgres schemas; DB_POSTGRES_SCHEMA names them). Prints one JSON line with the services'
// URLs on stdout once everything is up, then runs until stdin closes or SIGTERM/SIGINT, and
// closes the network. Everything else (logs, errors) goes to stderr.
import { createRequire } from 'node:module'
import path from 'node:path'
import { pathToFileURL } from 'node:url'

const envDir = path.resolve(process.argv[2] || process.env.VIBEFORGE_PDS_DEV_ENV || '.')
const log = (...args) => console.error('[pds_dev_env]', ...args)

// Redis is asserted by TestNetwork.create but not used by the services it starts.
process.env.REDIS_HOST ||= '127.0.0.1:1'
if (!process.env.DB_POSTGRES_URL) {
  log('DB_POSTGRES_URL is not set (the AppView, bsync and Ozone need Postgres)')
  process.exit(2)
}
const [major] = process.versions.node.split('.').map(Number)
if (major < 22) {
  log(`@atproto/dev-env needs Node >= 22, this is ${process.version}`)
  process.exit(2)
}

const require = createRequire(path.join(envDir, 'package.json'))
const devEnv = await import(pathToFileURL(require.resolve('@atproto/dev-env')).href)

const started = Date.now()
const network = await devEnv.TestNetwork.create({
  dbPostgresSchema: process.env.DB_POSTGRES_SCHEMA || 'vf',
  pds: { hostname: 'localhost', enableDidDocWithSession: true },
})
await network.processAll()

console.log(
  JSON.stringify({
    plc: network.plc.url,
    pds: network.pds.url,
    appview: network.bsky.url,
    appviewDid: network.bsky.serverDid,
    ozone: network.ozone.url,
    handleDomains: network.pds.ctx.cfg.identity.serviceHandleDomains,
    startupMs: Date.now() - started,
  }),
)

let closing = false
const shutdown = async (why) => {
  if (closing) return
  closing = true
  log(`closing (${why})`)
  const timer = setTimeout(() => process.exit(1), 15000)
  try {
    await network.close()
  } catch (err) {
    log('close failed:', err)
  }
  clearTimeout(timer)
  process.exit(0)
}
process.on('SIGTERM', () => shutdown('SIGTERM'))
process.on('SIGINT', () => shutdown('SIGINT'))
process.stdin.on('end', () => shutdown('stdin closed'))
process.stdin.on('error', () => shutdown('stdin error'))
process.stdin.resume()
