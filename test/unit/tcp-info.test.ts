import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseSs, TCP_STATE_NUMBER, type SsSocket } from '../../src/evidence/ss-parser.js';
import {
  codeAssignments,
  decodeSoMeminfo,
  decodeTcpCcInfo,
  decodeTcpInfo,
  PYTHON_TCP_INFO_FIELDS,
  soMeminfoToPythonAssignments,
  TCP_INFO_LAYOUT,
  TCP_INFO_SIZE,
  tcpCcInfoToPythonAssignments,
  tcpInfoToPythonAssignments,
  type TcpInfo,
} from '../../src/evidence/tcp-info.js';

interface Rec {
  what: string;
  local: [string, number];
  congestion: string;
  tcp_info: { length: number; hex: string };
  tcp_cc_info: { length: number; hex: string };
  so_meminfo: { length: number; hex: string };
  ss: string;
}

const FIX = join(dirname(fileURLToPath(import.meta.url)), '../fixtures/ss/tcp-info.json');
const RECS = JSON.parse(readFileSync(FIX, 'utf8')) as Rec[];
const rec = (what: RegExp): Rec => RECS.find((r) => what.test(r.what))!;
const info = (r: Rec): TcpInfo => decodeTcpInfo(Buffer.from(r.tcp_info.hex, 'hex'));
const U64_MAX = 2n ** 64n - 1n;

/** What ss printed for the same socket right after the getsockopt must agree with the decoded fields. */
function checkAgainstSs(i: TcpInfo, s: SsSocket, cc: string): void {
  expect(i.tcpi_state).toBe(TCP_STATE_NUMBER[s.state]);
  const ss = s.info!;
  expect(ss.congestion).toBe(cc);
  if (i.tcpi_rto !== 0 && i.tcpi_rto !== 3_000_000) expect(i.tcpi_rto / 1000).toBe(ss.rtoMs);
  expect(i.tcpi_backoff).toBe(ss.backoff);
  expect(i.tcpi_snd_mss || undefined).toBe(ss.mss);
  expect(i.tcpi_rcv_mss || undefined).toBe(ss.rcvMss);
  expect(i.tcpi_advmss || undefined).toBe(ss.advMss);
  expect(i.tcpi_pmtu || undefined).toBe(ss.pmtu);
  expect(i.tcpi_snd_cwnd).toBe(ss.cwnd);
  expect((i.tcpi_options & 1) !== 0).toBe(ss.ts);
  expect((i.tcpi_options & 2) !== 0).toBe(ss.sack);
  if (i.tcpi_options & 4) expect(ss.wscale).toEqual({ snd: i.tcpi_snd_wscale, rcv: i.tcpi_rcv_wscale });
  else expect(ss.wscale).toBeUndefined();
  expect(i.tcpi_rtt / 1000).toBe(ss.rttMs ?? 0);
  expect(i.tcpi_retrans).toBe(ss.retrans);
  expect(i.tcpi_total_retrans).toBe(ss.retransTotal);
  expect(i.tcpi_lost).toBe(ss.lost);
  expect(i.tcpi_reordering).toBe(ss.reordering);
  expect(i.tcpi_rcv_space).toBe(ss.rcvSpace);
  expect(i.tcpi_rcv_ssthresh).toBe(ss.rcvSsthresh);
  expect(i.tcpi_snd_wnd).toBe(ss.sndWnd);
  expect(Number(i.tcpi_bytes_sent)).toBe(ss.bytesSent);
  expect(Number(i.tcpi_bytes_retrans)).toBe(ss.bytesRetrans);
  expect(Number(i.tcpi_bytes_acked)).toBe(ss.bytesAcked);
  expect(Number(i.tcpi_bytes_received)).toBe(ss.bytesReceived);
  expect(i.tcpi_segs_out).toBe(ss.segsOut);
  expect(i.tcpi_segs_in).toBe(ss.segsIn);
  expect(i.tcpi_delivered).toBe(ss.delivered);
  expect(i.tcpi_delivery_rate_app_limited === 1).toBe(ss.appLimited);
  if (s.state !== 'LISTEN') expect(i.tcpi_unacked).toBe(ss.unacked);
}

describe('decodeTcpInfo on getsockopt(TCP_INFO) bytes from this kernel', () => {
  it('the kernel returns 280 bytes, the size this decoder knows', () => {
    expect(TCP_INFO_SIZE).toBe(280);
    for (const r of RECS) expect(r.tcp_info.length, r.what).toBe(280);
    const last = TCP_INFO_LAYOUT.reduce((m, f) => Math.max(m, f.offset + { u8: 1, u16: 2, u32: 4, u64: 8 }[f.kind]), 0);
    expect(last).toBe(280);
  });

  it('agrees with ss, read right after, for every captured socket', () => {
    for (const r of RECS) {
      const socks = parseSs(r.ss);
      expect(socks, r.what).toHaveLength(1);
      checkAgainstSs(info(r), socks[0]!, r.congestion);
    }
  });

  it('ESTAB over ::1 (cubic, loopback MTU 65536)', () => {
    const i = info(rec(/::1/));
    expect(i).toMatchObject({
      length: 280,
      tcpi_state: 1,
      tcpi_ca_state: 0,
      tcpi_options: 7,
      tcpi_snd_wscale: 10,
      tcpi_rcv_wscale: 10,
      tcpi_rto: 204000,
      tcpi_ato: 40000,
      tcpi_snd_mss: 47616,
      tcpi_rcv_mss: 30000,
      tcpi_pmtu: 65536,
      tcpi_advmss: 65464,
      tcpi_snd_ssthresh: 0x7fffffff,
      tcpi_bytes_acked: 65537n,
      tcpi_bytes_received: 30000n,
      tcpi_max_pacing_rate: U64_MAX,
      tcpi_data_segs_out: 3,
    });
    expect(i.raw).toHaveLength(280);
  });

  it('ESTAB retransmitting for 6.5 s: Loss state, backoff, RTO accounting', () => {
    expect(info(rec(/retransmitting 10000/))).toMatchObject({
      tcpi_state: 1,
      tcpi_ca_state: 4,
      tcpi_retransmits: 5,
      tcpi_backoff: 5,
      tcpi_rto: 6_400_000,
      tcpi_snd_mss: 1448,
      tcpi_snd_cwnd: 1,
      tcpi_unacked: 7,
      tcpi_lost: 7,
      tcpi_retrans: 1,
      tcpi_total_retrans: 6,
      tcpi_bytes_sent: 18552n,
      tcpi_bytes_retrans: 8552n,
      tcpi_busy_time: 6_520_000n,
      tcpi_rehash: 5,
      tcpi_total_rto: 5,
      tcpi_total_rto_recoveries: 1,
      tcpi_total_rto_time: 6307,
      tcpi_delivery_rate_app_limited: 1,
      tcpi_fastopen_client_fail: 0,
    });
  });

  it('CLOSING, SYN-SENT and LISTEN', () => {
    expect(info(rec(/CLOSING/))).toMatchObject({ tcpi_state: 11, tcpi_ca_state: 4, tcpi_backoff: 4, tcpi_rto: 3_200_000, tcpi_unacked: 1 });
    expect(info(rec(/SYN-SENT/))).toMatchObject({
      tcpi_state: 2,
      tcpi_options: 0,
      tcpi_snd_wscale: 0,
      tcpi_snd_mss: 524,
      tcpi_rto: 2_000_000,
      tcpi_rttvar: 250_000,
      tcpi_min_rtt: 0xffffffff,
      tcpi_pacing_rate: U64_MAX,
    });
    // A listener reports its backlog in tcpi_sacked and its accept queue in tcpi_unacked.
    expect(info(rec(/LISTEN/))).toMatchObject({ tcpi_state: 10, tcpi_sacked: 8, tcpi_unacked: 0, tcpi_rto: 0 });
  });

  it('decodes by the returned length: missing fields read 0, extra bytes stay in raw', () => {
    const full = Buffer.from(rec(/retransmitting/).tcp_info.hex, 'hex');
    const old = decodeTcpInfo(full, 232); // Debian 12's uapi struct ends after tcpi_snd_wnd
    expect(old.length).toBe(232);
    expect(old.tcpi_snd_wnd).toBe(65160);
    expect(old.tcpi_rcv_wnd).toBe(0);
    expect(old.tcpi_total_rto).toBe(0);
    const tiny = decodeTcpInfo(full, 8);
    expect(tiny).toMatchObject({ tcpi_state: 1, tcpi_backoff: 5, tcpi_rto: 0, tcpi_bytes_sent: 0n });
    const longer = Buffer.concat([full, Buffer.from([1, 2, 3, 4, 5, 6, 7, 8])]);
    const future = decodeTcpInfo(longer);
    expect(future.length).toBe(288);
    expect(future.raw.subarray(280)).toEqual(Buffer.from([1, 2, 3, 4, 5, 6, 7, 8]));
    expect(future.tcpi_total_rto_time).toBe(6307);
    expect(() => decodeTcpInfo(full, 300)).toThrow(/does not fit/);
  });

  it('bit fields: window scales, app_limited, fastopen_client_fail, the AccECN word', () => {
    const b = Buffer.alloc(280);
    b[6] = 0x7e; // snd 14, rcv 7
    b[7] = 0b101; // app_limited 1, fastopen_client_fail 2
    b.writeUInt32LE(((0xabcdef << 8) | (9 << 4) | (2 << 2) | 3) >>> 0, 276);
    expect(decodeTcpInfo(b)).toMatchObject({
      tcpi_snd_wscale: 14,
      tcpi_rcv_wscale: 7,
      tcpi_delivery_rate_app_limited: 1,
      tcpi_fastopen_client_fail: 2,
      tcpi_ecn_mode: 3,
      tcpi_accecn_opt_seen: 2,
      tcpi_accecn_fail_mode: 9,
      tcpi_options2: 0xabcdef,
    });
  });
});

describe('TCP_CC_INFO and SO_MEMINFO', () => {
  it('bbr: 20 bytes, read as bbr, dctcp and vegas like packetdrill does', () => {
    const r = rec(/veth, bbr, idle/);
    const cc = decodeTcpCcInfo(Buffer.from(r.tcp_cc_info.hex, 'hex'));
    expect(cc.length).toBe(20);
    expect(cc.bbr).toEqual({
      bbr_bw_lo: 263272648,
      bbr_bw_hi: 0,
      bbr_bw: 263272648n,
      bbr_min_rtt: 22,
      bbr_pacing_gain: 739,
      bbr_cwnd_gain: 739,
    });
    // bytes per second, like tcp_info's delivery rate (BBR keeps its own filtered estimate)
    expect(Number(cc.bbr!.bbr_bw)).toBeCloseTo(Number(info(r).tcpi_delivery_rate), -3);
    expect(cc.dctcp).toEqual({
      dctcp_enabled: 263272648 & 0xffff,
      dctcp_ce_state: 263272648 >>> 16,
      dctcp_alpha: 0,
      dctcp_ab_ecn: 22,
      dctcp_ab_tot: 739,
    });
    expect(cc.vegas).toEqual({ tcpv_enabled: 263272648, tcpv_rttcnt: 0, tcpv_rtt: 22, tcpv_minrtt: 739 });
  });

  it('cubic: nothing, and an empty line in Python', () => {
    const r = rec(/cubic/);
    expect(r.tcp_cc_info.length).toBe(0);
    const cc = decodeTcpCcInfo(Buffer.alloc(0));
    expect(cc).toEqual({ length: 0 });
    expect(tcpCcInfoToPythonAssignments(cc)).toBe('\n');
  });

  it('SO_MEMINFO: nine u32 slots', () => {
    const r = rec(/retransmitting/);
    expect(r.so_meminfo.length).toBe(36);
    expect(decodeSoMeminfo(Buffer.from(r.so_meminfo.hex, 'hex'))).toEqual({
      SK_MEMINFO_RMEM_ALLOC: 0,
      SK_MEMINFO_RCVBUF: 131072,
      SK_MEMINFO_WMEM_ALLOC: 0,
      SK_MEMINFO_SNDBUF: 69120,
      SK_MEMINFO_FWD_ALLOC: expect.any(Number),
      SK_MEMINFO_WMEM_QUEUED: expect.any(Number),
      SK_MEMINFO_OPTMEM: 0,
      SK_MEMINFO_BACKLOG: 0,
      SK_MEMINFO_DROPS: 0,
    });
    expect(decodeSoMeminfo(Buffer.from([1, 0, 0, 0]))).toMatchObject({ SK_MEMINFO_RMEM_ALLOC: 1, SK_MEMINFO_RCVBUF: 0 });
  });
});

describe('Python assignments as packetdrill writes them for %{ }% blocks', () => {
  const r = rec(/retransmitting/);
  const text = codeAssignments(
    Buffer.from(r.tcp_info.hex, 'hex'),
    Buffer.from(r.tcp_cc_info.hex, 'hex'),
    Buffer.from(r.so_meminfo.hex, 'hex'),
  );

  it('symbols, then every tcpi_ field in code.c order, blank-line terminated blocks', () => {
    const blocks = text.split('\n\n');
    expect(blocks).toHaveLength(4); // tcp_info, cc_info, meminfo, and what follows the last blank line
    expect(blocks[3]).toBe('');
    const lines = blocks[0]!.split('\n');
    expect(lines.slice(0, 3)).toEqual(['TCP_ESTABLISHED = 1', 'TCP_SYN_SENT = 2', 'TCP_SYN_RECV = 3']);
    expect(lines).toContain('TCP_CA_Loss = 4');
    expect(lines).toContain('TCPI_OPT_TFO_CHILD = 128');
    const fields = lines.filter((l) => l.startsWith('tcpi_')).map((l) => l.split(' = ')[0]);
    expect(fields).toEqual([...PYTHON_TCP_INFO_FIELDS]);
    expect(lines).toContain('tcpi_max_pacing_rate = 18446744073709551615');
    expect(lines).toContain('tcpi_rto = 6400000');
    expect(lines).toContain('tcpi_snd_wscale = 10');
    expect(blocks[1]!.split('\n')[0]).toBe('bbr_bw_lo = 0');
    expect(blocks[1]).toContain('tcp_minrtt = ');
    expect(blocks[2]!.split('\n')).toHaveLength(9);
    expect(text).toBe(
      tcpInfoToPythonAssignments(info(r)) +
        tcpCcInfoToPythonAssignments(decodeTcpCcInfo(Buffer.from(r.tcp_cc_info.hex, 'hex'))) +
        soMeminfoToPythonAssignments(decodeSoMeminfo(Buffer.from(r.so_meminfo.hex, 'hex'))),
    );
  });

  it('runs in python3 with the assertions packetdrill scripts make', () => {
    const program =
      text +
      [
        'assert tcpi_state == TCP_ESTABLISHED, tcpi_state',
        'assert tcpi_ca_state == TCP_CA_Loss, tcpi_ca_state',
        'assert (tcpi_options & TCPI_OPT_SACK) != 0, tcpi_options',
        'assert (tcpi_options & TCPI_OPT_TIMESTAMPS) != 0, tcpi_options',
        'assert tcpi_snd_wscale == 10, tcpi_snd_wscale',
        'assert tcpi_snd_cwnd == 1 and tcpi_lost == 7 and tcpi_backoff == 5',
        'assert SK_MEMINFO_RCVBUF == 131072, SK_MEMINFO_RCVBUF',
        'assert bbr_pacing_gain == 256',
        'print("ok")',
      ].join('\n') +
      '\n';
    const p = spawnSync('python3', ['-'], { input: program, encoding: 'utf8' });
    expect(p.stderr).toBe('');
    expect(p.stdout).toBe('ok\n');
  });
});

describe('live getsockopt(TCP_INFO) in a private namespace', () => {
  it('decodes a fresh loopback connection consistently with ss', () => {
    const py = [
      'import socket, subprocess, json',
      "l = socket.socket(); l.bind(('127.0.0.1', 8080)); l.listen()",
      "c = socket.socket(); c.bind(('127.0.0.1', 40000)); c.connect(('127.0.0.1', 8080)); a, _ = l.accept()",
      "c.sendall(b'x' * 3000); a.recv(4096)",
      'b = c.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 512)',
      "ss = subprocess.run(['ss', '-tinoeHa', 'sport', '=', ':40000'], capture_output=True, text=True).stdout",
      "print(json.dumps({'hex': b.hex(), 'ss': ss}))",
    ].join('\n');
    const p = spawnSync('unshare', ['--net', 'sh', '-c', 'ip link set lo up && python3 -'], { input: py, encoding: 'utf8' });
    expect(p.status, p.stderr).toBe(0);
    const out = JSON.parse(p.stdout) as { hex: string; ss: string };
    const i = decodeTcpInfo(Buffer.from(out.hex, 'hex'));
    expect(i.length).toBe(280);
    expect(i).toMatchObject({ tcpi_state: 1, tcpi_snd_wscale: i.tcpi_rcv_wscale, tcpi_pmtu: 65535, tcpi_advmss: 65483, tcpi_bytes_sent: 3000n });
    expect(i.tcpi_rto).toBeGreaterThanOrEqual(200_000);
    const [s] = parseSs(out.ss);
    expect(s!.info!.mss).toBe(i.tcpi_snd_mss);
    expect(s!.info!.wscale).toEqual({ snd: i.tcpi_snd_wscale, rcv: i.tcpi_rcv_wscale });
    expect(s!.info!.rtoMs).toBe(i.tcpi_rto / 1000);
  });
});
