// The `config get cluster` reply bytes, written out literally (ElastiCache's documented
// layout: a VALUE-like block holding an LF-terminated version line and node line).
import t from 'tap'
import { encodeClusterConfig, isConfigGetCluster } from '../cluster-config.js'
import { TextRequestParser, NO_DATA, type TextLine } from '../request-parser.js'

t.test('reply layout', async (t) => {
  t.equal(encodeClusterConfig(7, [
    { hostname: 'cache-a.example', ip: '', port: 11211 },
    { hostname: '10.0.0.2', ip: '10.0.0.2', port: 11212 },
  ]).toString('latin1'),
  'CONFIG cluster 0 49\r\n7\ncache-a.example||11211 10.0.0.2|10.0.0.2|11212\n\r\nEND\r\n')
  t.equal(encodeClusterConfig(0, []).toString('latin1'), 'CONFIG cluster 0 3\r\n0\n\n\r\nEND\r\n', 'no nodes: an empty node line')
})

t.test('only `config get cluster` is the discovery command', async (t) => {
  const seen: boolean[] = []
  const p = new TextRequestParser({
    onLine (line: TextLine): number { seen.push(isConfigGetCluster(line)); return NO_DATA },
    onData (): void {},
    onFatal (): void {},
  })
  p.push(Buffer.from('config get cluster\r\nconfig get cluster x\r\nconfig set cluster\r\nconfig get clusters\r\nconfig\r\nconfig  get   cluster\n'))
  t.same(seen, [true, false, false, false, false, true])
})
