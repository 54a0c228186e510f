#!/usr/bin/env python3
"""Markdown tables from $OUT/results/*.json.  usage: summarize.py TAG...  (e.g. decode-n1 ag-split-n10)"""
import json, os, statistics, sys

def load(tag):
    return json.load(open(os.path.join(os.environ.get('OUT', '/tmp/lanrtc-live-viewers'), 'results', f'{tag}.json')))

def row(tag):
    r = load(tag)
    if 'cpu' not in r:
        return f'| {r["n"]} | (no measurement: {tag} timed out) |'
    d = r['page']['perViewer']
    cpu = r['cpu']
    if 'send' in cpu:       # split: broadcaster and viewers in two browsers
        snd, rcv = cpu['send'], cpu['recv']
    elif 'main' in cpu:
        snd, rcv = cpu['main'], None
    else:                   # older single-browser format
        snd, rcv = cpu, None
    n = r['n']
    fps = [x['encFps'] for x in d]
    ms = [x['encMsPerFrame'] for x in d if x['encMsPerFrame']]
    res = sorted({f"{x['width']}x{x['height']}" for x in d})
    qlr = sorted({x['qlr'] for x in d})
    qlcpu = sum(x['qlDurations'].get('cpu', 0) for x in d)
    enc_ms_s = statistics.mean(x['encMsPerSec'] for x in d)
    kbps = statistics.median(x['sentKbps'] for x in d)
    tot = snd['chromium_cpu_pct_of_one_core']
    mine = tot + (rcv['chromium_cpu_pct_of_one_core'] if rcv else 0)
    other = snd['machine_busy_pct_of_one_core'] - mine
    cells = [n, f'{min(fps):.1f} / {statistics.median(fps):.1f}', ','.join(res), ','.join(qlr) + (f' (cpu {qlcpu:.0f}s)' if qlcpu else ''),
             f'{statistics.median(ms):.2f} ({min(ms):.1f}-{max(ms):.1f})', f'{enc_ms_s / 10:.1f}',
             f'{tot:.0f}', f'{tot / n:.1f}']
    if rcv:
        rs = r.get('recvstats', [])
        recv_fps = min((min(s['fps']) for s in rs[-4:]), default=float('nan'))
        cells += [f"{rcv['chromium_cpu_pct_of_one_core']:.0f}", f'{recv_fps:.1f}']
    else:
        dec = statistics.mean(x['decMsPerSec'] for x in d)
        cells += [f'{dec / 10:.1f}', f"{min(x['decFps'] for x in d):.1f}"]
    cells += [f'{kbps:.0f}', f'{other:.0f}', ' '.join(snd['loadavg_start'][:1] + snd['loadavg_end'][:1])]
    return '| ' + ' | '.join(str(c) for c in cells) + ' |'

tags = sys.argv[1:]
split = 'split' in tags[0]
print('| N | sender fps min / median | resolution | qualityLimitationReason | encode ms/frame median (range) | encode CPU %/viewer (fps x ms) | '
      + ('broadcaster Chromium CPU % | ... per viewer | viewers\' browser CPU % | slowest viewer decode fps (last 5 s) | '
         if split else 'Chromium CPU % (all) | ... per viewer | decode CPU %/viewer | min viewer decode fps | ')
      + 'sent kbps/viewer | other load on machine % | loadavg 1-min start end |')
print('|' + '---|' * (14 if split else 14))
for t in tags:
    print(row(t))
