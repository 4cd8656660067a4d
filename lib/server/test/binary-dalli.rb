# Debian ruby-dalli 3.0 (binary protocol by default) driving one scenario against
# HOST PORT [USER PASSWORD]; prints one JSON array of [step, result] pairs so the test can
# compare memring with memcached. Errors are results too ("error: Class").
require 'dalli'
require 'json'

host, port, user, password = ARGV
opts = { compress: false, socket_timeout: 10, socket_max_failures: 1, value_max_bytes: 2 * 1024 * 1024 }
opts.merge!(username: user, password: password) if user
Dalli.logger.level = Logger::FATAL
dc = Dalli::Client.new("#{host}:#{port}", opts)
out = []
step = lambda do |name, &blk|
  r = begin
    blk.call
  rescue StandardError => e
    "error: #{e.class}"
  end
  out << [name, r]
end

step.call('flush') { dc.flush.all? }
step.call('set') { dc.set('rb:a', 'hello', 0, raw: true) != false }
step.call('get') { dc.get('rb:a') }
step.call('get miss') { dc.get('rb:none') }
step.call('get_multi') { dc.get_multi('rb:a', 'rb:none', 'rb:a2').to_a.sort }
step.call('add existing') { dc.add('rb:a', 'x', 0, raw: true) }
step.call('add new') { dc.add('rb:b', 'bee', 0, raw: true) != false }
step.call('replace missing') { dc.replace('rb:none', 'x', 0, raw: true) }
step.call('replace') { dc.replace('rb:b', 'B', 0, raw: true) != false }
step.call('append') { dc.append('rb:b', '++') != false }
step.call('prepend') { dc.prepend('rb:b', '--') != false }
step.call('get appended') { dc.get('rb:b') }
step.call('append missing') { dc.append('rb:none', 'x') }
step.call('delete') { dc.delete('rb:b') }
step.call('delete miss') { dc.delete('rb:b') }
step.call('incr creates') { dc.incr('rb:n', 1, 0, 10) }
step.call('incr') { dc.incr('rb:n', 5) }
step.call('decr floors') { dc.decr('rb:n', 100) }
step.call('incr missing no default') { dc.incr('rb:m', 1) }
step.call('incr big') { dc.set('rb:big', '18446744073709551615', 0, raw: true); dc.incr('rb:big', 2) }
step.call('incr non-numeric') { dc.incr('rb:a', 1) }
step.call('touch') { dc.touch('rb:a', 100) }
step.call('touch miss') { dc.touch('rb:none', 100) }
step.call('gat') { dc.gat('rb:a', 100) }
step.call('cas') { dc.cas('rb:a') { |v| v + '!' } }
step.call('get after cas') { dc.get('rb:a') }
step.call('cas miss') { dc.cas('rb:none') { |v| v } }
big = 'z' * (1024 * 1024 - 100)
step.call('set near 1 MiB') { dc.set('rb:big1', big, 0, raw: true) != false }
step.call('get near 1 MiB') { dc.get('rb:big1') == big }
step.call('set over 1 MiB') { dc.set('rb:big2', 'y' * (1024 * 1024 + 10), 0, raw: true) }
step.call('multi-get of 50') do
  50.times { |i| dc.set("rb:m#{i}", "v#{i}", 0, raw: true) }
  dc.get_multi((0...60).map { |i| "rb:m#{i}" }).size
end
step.call('version') { dc.version.values.first.is_a?(String) }
step.call('flush clears') { dc.flush; dc.get('rb:a') }
puts JSON.generate(out)
