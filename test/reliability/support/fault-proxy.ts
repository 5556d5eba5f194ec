import { createServer, connect, type Socket } from 'node:net'

/** A TCP proxy in front of PostgreSQL that can lose a response on purpose. */
export interface FaultProxy {
  port: number
  /**
   * The next statement whose text contains `marker` reaches the server and runs to its end, but
   * its response never reaches the client: the proxy closes that connection when the first byte
   * of the answer comes back. The client sees a connection lost while the statement was in flight,
   * after the server has committed it. Resolves when the response has been dropped.
   */
  dropResponseTo(marker: string): Promise<void>
  close(): Promise<void>
}

export async function startFaultProxy(target: { host: string; port: number }): Promise<FaultProxy> {
  const sockets = new Set<Socket>()
  let armed: { marker: Buffer; dropped: () => void } | null = null
  const server = createServer((client) => {
    const upstream = connect(target.port, target.host)
    sockets.add(client).add(upstream)
    let doomed: (() => void) | null = null
    const closeBoth = () => {
      client.destroy()
      upstream.destroy()
    }
    client.on('data', (chunk) => {
      if (armed && chunk.includes(armed.marker)) {
        doomed = armed.dropped
        armed = null
      }
      upstream.write(chunk)
    })
    upstream.on('data', (chunk) => {
      if (doomed) {
        const done = doomed
        doomed = null
        closeBoth()
        done()
        return
      }
      client.write(chunk)
    })
    client.on('error', closeBoth).on('close', closeBoth)
    upstream.on('error', closeBoth).on('close', closeBoth)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  if (typeof address !== 'object' || !address) throw new Error('proxy has no port')
  return {
    port: address.port,
    dropResponseTo(marker) {
      return new Promise<void>((resolve) => {
        armed = { marker: Buffer.from(marker, 'latin1'), dropped: resolve }
      })
    },
    async close() {
      for (const socket of sockets) socket.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
