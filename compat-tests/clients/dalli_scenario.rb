# Scenario for Debian's ruby-dalli 3.0 (binary protocol) against HOST PORT [USER PASSWORD].
# Prints "ok <n> checks" and exits 0, or prints the failed check and exits 1.
require 'dalli'

host, port, user, password = ARGV
$checks = 0
def check(what, got, want)
  $checks += 1
  return if got == want
  puts "FAIL #{what}: got #{got.inspect}, want #{want.inspect}"
  exit 1
end

opts = { compress: false, socket_timeout: 10, socket_max_failures: 1 }
opts.merge!(username: user, password: password) if user
Dalli.logger.level = Logger::ERROR
dc = Dalli::Client.new("#{host}:#{port}", opts)
check('flush', dc.flush.all?, true)
check('set', dc.set('rb:a', 'hello') != false, true)
check('get', dc.get('rb:a'), 'hello')
check('get miss', dc.get('rb:none'), nil)
check('set raw', dc.set('rb:r', 'raw', 0, raw: true) != false, true)
check('get_multi', dc.get_multi('rb:a', 'rb:none', 'rb:r'), { 'rb:a' => 'hello', 'rb:r' => 'raw' })
check('add existing', dc.add('rb:a', 'x'), false)
check('add new', dc.add('rb:b', 'bee', 0, raw: true) != false, true)
check('replace missing', [false, 0, nil].include?(dc.replace('rb:none', 'x')), true) # dalli 3.0 answers 0 here
check('replace made nothing', dc.get('rb:none'), nil)
check('replace', dc.replace('rb:b', 'B', 0, raw: true) != false, true)
check('append', dc.append('rb:b', '++') != false, true)
check('prepend', dc.prepend('rb:b', '--') != false, true)
check('after append/prepend', dc.get('rb:b', raw: true), '--B++')
check('delete', dc.delete('rb:b'), true)
check('delete miss', [false, nil].include?(dc.delete('rb:b')), true)
check('incr create', dc.incr('rb:n', 1, 0, 10), 10)
check('incr', dc.incr('rb:n', 5), 15)
check('decr', dc.decr('rb:n', 20), 0)
check('incr miss', dc.incr('rb:nope', 1), nil)
check('incr big', dc.incr('rb:n', 2**64 - 1), 2**64 - 1)
check('incr wrap', dc.incr('rb:n', 1), 0)
check('cas', dc.cas('rb:a') { |v| v + '!' } != false, true)
check('after cas', dc.get('rb:a'), 'hello!')
check('cas miss', dc.cas('rb:none') { |v| v }, nil)
value, cas = dc.get_cas('rb:a')
check('get_cas', value, 'hello!')
check('set_cas ok', dc.set_cas('rb:a', 'v2', cas) != false, true)
check('set_cas stale', dc.set_cas('rb:a', 'v3', cas), false)
check('touch', dc.touch('rb:a', 100), true)
check('touch miss', dc.touch('rb:none', 100), nil)
check('gat', dc.gat('rb:a', 100), 'v2')
binary = (0..255).map(&:chr).join.b * 4 + "\r\nEND\r\n\0".b
check('set binary', dc.set('rb:bin', binary, 0, raw: true) != false, true)
check('get binary', dc.get('rb:bin', raw: true).b, binary)
big = 'z' * 1_000_000
check('set ~1MB', dc.set('rb:big', big, 0, raw: true) != false, true)
check('get ~1MB', dc.get('rb:big', raw: true), big)
stats = dc.stats.values.first
check('stats curr_items', stats['curr_items'].to_i >= 4, true)
check('version', dc.version.values.first.nil?, false)
# TTL 3, not 1: memcached's clock moves in whole seconds, so a TTL of 1 can expire a few
# milliseconds after the set (the next tick); 3 leaves at least 2 s for the presence check.
check('set ttl 3', dc.set('rb:ttl', 'x', 3) != false, true)
check('ttl present', dc.get('rb:ttl'), 'x')
deadline = Time.now + 8
sleep 0.1 while !dc.get('rb:ttl').nil? && Time.now < deadline
check('ttl expired', dc.get('rb:ttl'), nil)
dc.flush
check('after flush', dc.get('rb:a'), nil)
dc.close
puts "ok #{$checks} checks"
