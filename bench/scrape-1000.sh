#!/usr/bin/env bash
# Scrape benchmark: 1 000 Prometheus-format targets (one nginx, one location per target) scraped every 10 s by Observe
# (scrape:) and by Prometheus 2.42 at the same time, in the same run. Jitter is measured the same way for both, on the
# target side: nginx logs each scrape ($msec, $uri, scraper), and bench/scrape/analyse.py computes per target the
# spacing of consecutive scrapes and its deviation from 10 s. CPU is each process's utime+stime over the measured window.
#
#   bench/scrape-1000.sh [seconds=120] [targets=1000]
# Prints a markdown table; paste it into docs/benchmarks.md ("## Scraping 1 000 targets").
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
seconds="${1:-120}"; targets="${2:-1000}"; warmup=20
prom=/usr/bin/prometheus; [ -x "$prom" ] || prom="$root/tests/peers/prometheus/usr/bin/prometheus"
[ -x "$prom" ] || { echo "Prometheus missing: run tests/peers/install.sh" >&2; exit 1; }
dll="$root/src/Observe/bin/Release/net10.0/observe.dll"
[ -f "$dll" ] || dotnet build src/Observe/Observe.csproj -c Release -nologo -v q -clp:ErrorsOnly
dir="$(mktemp -d /tmp/scrape-bench.XXXXXX)"
free_port() { /usr/bin/python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
np=$(free_port); op=$(free_port); pp=$(free_port)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; sleep 1; for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

# nginx: /t/N answers a 20-series exposition page (counters, a gauge, a 6-bucket histogram), logging who asked when.
mkdir -p "$dir/nginx"
cat > "$dir/nginx/nginx.conf" <<NGINX
daemon off; master_process off; worker_processes 1; pid $dir/nginx/nginx.pid; error_log $dir/nginx/error.log warn;
events { worker_connections 4096; }
http {
  client_body_temp_path $dir/nginx/body; proxy_temp_path $dir/nginx/proxy; fastcgi_temp_path $dir/nginx/fcgi;
  uwsgi_temp_path $dir/nginx/uwsgi; scgi_temp_path $dir/nginx/scgi;
  log_format scrape '\$msec \$uri \$http_user_agent';
  access_log $dir/nginx/access.log scrape buffer=256k flush=1s;
  server {
    listen 127.0.0.1:$np;
    location ~ ^/t/(\d+)\$ {
      default_type text/plain;
      return 200 "# TYPE app_requests_total counter\napp_requests_total{code=\"200\",target=\"\$1\"} 1027\napp_requests_total{code=\"500\",target=\"\$1\"} 3\n# TYPE app_in_flight gauge\napp_in_flight 4\n# TYPE app_latency_seconds histogram\napp_latency_seconds_bucket{le=\"0.005\"} 24\napp_latency_seconds_bucket{le=\"0.01\"} 33\napp_latency_seconds_bucket{le=\"0.05\"} 100\napp_latency_seconds_bucket{le=\"0.1\"} 129\napp_latency_seconds_bucket{le=\"1\"} 133\napp_latency_seconds_bucket{le=\"+Inf\"} 144\napp_latency_seconds_sum 5.3\napp_latency_seconds_count 144\nprocess_cpu_seconds_total 12.5\nprocess_resident_memory_bytes 2.1e+07\nprocess_open_fds 12\nprocess_start_time_seconds 1.7e+09\ngo_goroutines 37\ngo_threads 9\ngo_gc_duration_seconds{quantile=\"0.5\"} 4.7e-05\ngo_gc_duration_seconds{quantile=\"1\"} 0.0012\n";
    }
  }
}
NGINX
setsid /usr/sbin/nginx -p "$dir/nginx" -e "$dir/nginx/error.log" -c "$dir/nginx/nginx.conf" > "$dir/nginx.out" 2>&1 & pids+=($!); nginx_pid=$!

# Observe: statsd/graphite/log listeners off, the embedded store on, 1 000 targets.
{
  echo "http: {port: $op}"
  echo "collector: {statsd: {enabled: false}, graphite: {enabled: false}}"
  echo "logs: {enabled: false}"
  echo "storage: {dataDir: $dir/observe-data}"
  echo "logging: {level: warning}"
  echo "scrape:"
  echo "  maxConcurrency: 64"
  echo "  targets:"
  for i in $(seq 1 "$targets"); do echo "    - {job: bench, instance: t$i, url: \"http://127.0.0.1:$np/t/$i\", interval: 10s, timeout: 5s, format: prometheus}"; done
} > "$dir/observe.yaml"
# Prometheus: the same targets, told apart by __metrics_path__.
{
  echo "global: {scrape_interval: 10s, scrape_timeout: 5s}"
  echo "scrape_configs:"
  echo "  - job_name: bench"
  echo "    static_configs:"
  for i in $(seq 1 "$targets"); do echo "      - {targets: ['127.0.0.1:$np'], labels: {__metrics_path__: /t/$i, t: '$i'}}"; done
} > "$dir/prometheus.yml"

setsid dotnet "$dll" run --config "$dir/observe.yaml" > "$dir/observe.log" 2>&1 & pids+=($!); observe_pid=$!
setsid "$prom" --config.file="$dir/prometheus.yml" --storage.tsdb.path="$dir/prom-data" --web.listen-address=127.0.0.1:$pp > "$dir/prometheus.log" 2>&1 & pids+=($!); prom_pid=$!

cpu() { awk '{print $14+$15}' "/proc/$1/stat"; }
sleep "$warmup"
t0=$(date +%s.%N); o0=$(cpu $observe_pid); p0=$(cpu $prom_pid); n0=$(cpu $nginx_pid); load0=$(cut -d' ' -f1-3 /proc/loadavg)
sleep "$seconds"
t1=$(date +%s.%N); o1=$(cpu $observe_pid); p1=$(cpu $prom_pid); n1=$(cpu $nginx_pid); load1=$(cut -d' ' -f1-3 /proc/loadavg)
rss_o=$(awk '/VmRSS/{print $2}' /proc/$observe_pid/status); rss_p=$(awk '/VmRSS/{print $2}' /proc/$prom_pid/status)
lag=$(curl -s "http://127.0.0.1:$op/metrics" | grep '^observe_scrape_schedule_lag_seconds' | tr '\n' ' ')
failures=$(curl -s "http://127.0.0.1:$op/metrics" | grep '^observe_scrape_failures_total' | awk '{s+=$2} END {print s+0}')
scrapes=$(curl -s "http://127.0.0.1:$op/metrics" | grep '^observe_scrapes_total' | awk '{print $2}')
sleep 2
hz=$(getconf CLK_TCK)
/usr/bin/python3 "$root/bench/scrape/analyse.py" "$dir/nginx/access.log" "$t0" "$t1" 10 \
  --cpu "Observe=$(echo "($o1-$o0)/$hz" | bc -l)" --cpu "Prometheus=$(echo "($p1-$p0)/$hz" | bc -l)" --cpu "nginx=$(echo "($n1-$n0)/$hz" | bc -l)" \
  --rss "Observe=$rss_o" --rss "Prometheus=$rss_p" --seconds "$(echo "$t1-$t0" | bc -l)"
echo
echo "Load average (1/5/15 min) at start of window: $load0; at end: $load1. Observe: $scrapes scrapes since start, $failures failed; its own schedule lag: $lag"
echo "date: $(date -u '+%Y-%m-%d %H:%M UTC'); nproc $(nproc); $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); $(free -g | awk '/Mem:/{print $2}') GB RAM; targets $targets; window ${seconds}s after ${warmup}s warm-up; temp dir $dir"
