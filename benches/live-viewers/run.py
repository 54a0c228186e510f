#!/usr/bin/env python3
"""One bench run: serve bench.html on 127.0.0.1, start headless Chromium on
it, and when the page marks the start and end of its measurement window,
read the CPU time of the whole Chromium process tree from /proc.

Must run inside the private network namespace (see bench.sh):
  ip netns exec lanrtc-viewers nice -n 10 python3 run.py N MODE [extra query]
Writes results/<mode>-n<N>.json and prints a one-line summary.
"""
import json, os, signal, subprocess, sys, threading, time
from http.server import ThreadingHTTPServer, SimpleHTTPRequestHandler

HERE = os.path.dirname(os.path.abspath(__file__))
# Results, logs and browser profiles go here, never into the source tree.
OUT = os.environ.get('OUT', '/tmp/lanrtc-live-viewers')
for sub in ('results', 'logs'):
    os.makedirs(os.path.join(OUT, sub), exist_ok=True)
N = int(sys.argv[1])
MODE = sys.argv[2] if len(sys.argv) > 2 else 'decode'
EXTRA = sys.argv[3] if len(sys.argv) > 3 else ''
TAG = sys.argv[4] if len(sys.argv) > 4 else f'{MODE}-n{N}'
WARM, DUR = 15, 20
PORT = 8000 + (os.getpid() % 1000)
CLK = os.sysconf('SC_CLK_TCK')
HARD_TIMEOUT = 110  # seconds, whole run

marks = {}
result = {}
done = threading.Event()
browsers = {}  # role -> (Popen, profile dir)
mailbox = {'send': [], 'recv': []}
mail_cv = threading.Condition()
recvstats = []


def proc_tree(root, profile):
    """pids of root and all its descendants (plus anything using our profile)."""
    children = {}
    profile_hits = set()
    for p in os.listdir('/proc'):
        if not p.isdigit():
            continue
        try:
            with open(f'/proc/{p}/stat') as f:
                st = f.read()
            ppid = int(st[st.rfind(')') + 2:].split()[1])
            children.setdefault(ppid, []).append(int(p))
            with open(f'/proc/{p}/cmdline', 'rb') as f:
                if f'{profile}'.encode() + b' ' in f.read().replace(b'\0', b' ') + b' ':
                    profile_hits.add(int(p))
        except OSError:
            pass
    out, stack = set(), [root]
    while stack:
        p = stack.pop()
        if p in out:
            continue
        out.add(p)
        stack.extend(children.get(p, []))
    return out | profile_hits


def ticks(path):
    with open(path) as f:
        st = f.read()
    rest = st[st.rfind(')') + 2:].split()
    return int(rest[11]) + int(rest[12])  # utime + stime


def sample_tree(root, profile):
    procs = {}
    for pid in proc_tree(root, profile):
        try:
            with open(f'/proc/{pid}/cmdline', 'rb') as f:
                cmd = f.read().replace(b'\0', b' ').split()
            ptype = 'browser'
            for a in cmd:
                if a.startswith(b'--type='):
                    ptype = a[7:].decode()
                    if ptype == 'utility':
                        for b in cmd:
                            if b.startswith(b'--utility-sub-type='):
                                ptype = 'utility:' + b[19:].decode().split('.')[-1]
            threads = {}
            for tid in os.listdir(f'/proc/{pid}/task'):
                try:
                    with open(f'/proc/{pid}/task/{tid}/comm') as f:
                        name = f.read().strip()
                    threads[tid] = (name, ticks(f'/proc/{pid}/task/{tid}/stat'))
                except OSError:
                    pass
            procs[pid] = {'type': ptype, 'ticks': ticks(f'/proc/{pid}/stat'), 'threads': threads}
        except OSError:
            pass
    return procs


def sample():
    procs = {role: sample_tree(p.pid, prof) for role, (p, prof) in browsers.items()}
    with open('/proc/loadavg') as f:
        load = f.read().split()[:3]
    with open('/proc/stat') as f:
        cpu = [int(x) for x in f.readline().split()[1:]]
    return {'time': time.monotonic(), 'procs': procs, 'loadavg': load, 'syscpu': cpu}


def cpu_report(a, b, role):
    dt = b['time'] - a['time']
    by_type, total, threads = {}, 0, {}
    for pid, pb in b['procs'][role].items():
        pa = a['procs'][role].get(pid)
        d = pb['ticks'] - (pa['ticks'] if pa else 0)
        total += d
        by_type[pb['type']] = by_type.get(pb['type'], 0) + d
        for tid, (name, t) in pb['threads'].items():
            ta = pa['threads'].get(tid, (name, 0))[1] if pa else 0
            key = f"{pb['type']}/{name}"
            threads[key] = threads.get(key, 0) + (t - ta)
    pct = lambda t: round(100.0 * t / CLK / dt, 1)
    ca, cb = a['syscpu'], b['syscpu']
    busy = lambda c: sum(c) - c[3] - c[4]  # minus idle, iowait
    sys_busy = 100.0 * (busy(cb) - busy(ca)) / max(1, (sum(cb) - sum(ca))) * os.cpu_count()
    top = sorted(threads.items(), key=lambda kv: -kv[1])[:15]
    return {
        'window_s': round(dt, 2),
        'chromium_cpu_pct_of_one_core': pct(total),
        'by_process_type_pct': {k: pct(v) for k, v in sorted(by_type.items(), key=lambda kv: -kv[1])},
        'top_threads_pct': {k: pct(v) for k, v in top if v > 0},
        'machine_busy_pct_of_one_core': round(sys_busy, 1),
        'loadavg_start': a['loadavg'], 'loadavg_end': b['loadavg'],
    }


class H(SimpleHTTPRequestHandler):
    def __init__(self, *a, **k):
        super().__init__(*a, directory=HERE, **k)

    def log_message(self, *a):
        pass

    def do_GET(self):
        if self.path.startswith('/poll?me='):
            me = self.path.split('=', 1)[1]
            with mail_cv:
                if not mailbox[me]:
                    mail_cv.wait(1.0)
                msgs, mailbox[me] = mailbox[me], []
            data = json.dumps(msgs).encode()
            self.send_response(200)
            self.send_header('Content-Type', 'application/json')
            self.send_header('Content-Length', str(len(data)))
            self.end_headers()
            try:
                self.wfile.write(data)
            except OSError:
                pass
            return
        super().do_GET()

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers.get('Content-Length', 0))) or b'{}')
        if self.path == '/mark':
            marks[body['label']] = sample()
        elif self.path.startswith('/sig?to='):
            with mail_cv:
                mailbox[self.path.split('=', 1)[1]].append(body)
                mail_cv.notify_all()
        elif self.path == '/log':
            print(f'  page: {body["msg"]}'[:400], flush=True)
        elif self.path == '/recvstats':
            recvstats.append(body)
        elif self.path == '/result':
            result.update(body)
            done.set()
        self.send_response(204)
        self.end_headers()


def launch(role, url, nice_more=0):
    profile = f'{OUT}/profile-{TAG}-{role}'
    subprocess.run(['rm', '-rf', profile])
    cmd = ['/usr/lib/chromium/chromium', '--headless=new', '--no-sandbox', '--disable-gpu',
           '--use-fake-device-for-media-stream=fps=30', '--use-fake-ui-for-media-stream',
           '--autoplay-policy=no-user-gesture-required',
           '--disable-features=WebRtcHideLocalIpsWithMdns',
           '--no-first-run', '--no-default-browser-check', '--disable-extensions',
           '--disable-background-networking', '--disable-component-update',
           f'--user-data-dir={profile}', url]
    if nice_more:
        cmd = ['nice', '-n', str(nice_more)] + cmd  # nice execs chromium: same pid
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=open(f'{OUT}/logs/{TAG}-{role}.stderr', 'w'),
                         start_new_session=True)
    browsers[role] = (p, profile)
    # The kernel's autogroup scheduling gives each session (setsid) an equal
    # share whatever the processes' nice values, so also set the session's
    # autogroup nice: 10 for the broadcaster, 19 for the viewers' browser
    # (the viewers stand in for other machines and must not steal CPU).
    try:
        with open(f'/proc/{p.pid}/autogroup', 'w') as f:
            f.write('19' if nice_more else '10')
    except OSError as e:
        print('autogroup:', e, flush=True)


def stop_all():
    for role, (p, profile) in browsers.items():
        try:
            os.killpg(p.pid, signal.SIGTERM)
            p.wait(5)
        except Exception:
            try:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait(5)
            except Exception:
                pass
        subprocess.run(['rm', '-rf', profile])


def main():
    srv = ThreadingHTTPServer(('127.0.0.1', PORT), H)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    q = f'n={N}&warm={WARM}&dur={DUR}{EXTRA}'
    if MODE == 'split':
        # viewers in their own browser, 9 nice levels below the broadcaster
        launch('recv', f'http://localhost:{PORT}/split.html?role=recv&{q}', nice_more=9)
        time.sleep(2)
        launch('send', f'http://localhost:{PORT}/split.html?role=send&{q}')
    else:
        launch('main', f'http://localhost:{PORT}/bench.html?mode={MODE}&{q}')
    ok = done.wait(HARD_TIMEOUT)
    stop_all()
    srv.shutdown()
    out = {'tag': TAG, 'n': N, 'mode': MODE, 'extra': EXTRA, 'timed_out': not ok, 'page': result}
    if 'start' in marks and 'end' in marks:
        out['cpu'] = {role: cpu_report(marks['start'], marks['end'], role) for role in browsers}
        if recvstats:
            out['recvstats'] = recvstats
    with open(f'{OUT}/results/{TAG}.json', 'w') as f:
        json.dump(out, f, indent=1)
    for role, c in out.get('cpu', {}).items():
        print(f"RUN {TAG} [{role}]: timed_out={not ok} chromium_cpu={c.get('chromium_cpu_pct_of_one_core')}% "
              f"machine_busy={c.get('machine_busy_pct_of_one_core')}% load={c.get('loadavg_start')}->{c.get('loadavg_end')} "
              f"by_type={c.get('by_process_type_pct')}", flush=True)
    if 'cpu' not in out:
        print(f'RUN {TAG}: timed_out={not ok} NO MEASUREMENT', flush=True)


if __name__ == '__main__':
    main()
