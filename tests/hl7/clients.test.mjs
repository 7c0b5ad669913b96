// Real HL7 v2 clients against a live wardd (docs/hl7.md): node-hl7-client
// and simple-hl7 each deliver every IHE PCD-01 fixture of fixtures/pcd01/
// over MLLP and must read back the ACK code wardd documents for it.
// Each delivery gets a fresh wardd: the Continua fixtures share the
// control id MSGID1234, and a repeated control id gets the first ACK.
//
//   WARDD_BIN=build/wardd node --test tests/hl7/clients.test.mjs
// (make hl7-clients; node_modules from `npm ci` in tests/hl7)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const here = path.dirname(new URL(import.meta.url).pathname);
const repo = path.resolve(here, '..', '..');
const wardd = path.resolve(process.env.WARDD_BIN || path.join(repo, 'build', 'wardd'));

// file, sender (MSH-3.1, MSH-4.1) to register, expected MSA-1
const cases = [
  ['pcd01-nibp-bp-monitor.hl7', 'AcmeInc', '', 'AA'],
  ['pcd01-icu-gateway-ecg-hr-artbp.hl7', 'HL7', 'MMS', 'AA'],
  ['pcd01-maximal-nte-repeats.hl7', 'AcmeInc', 'SendFac', 'AE'],
  ['continua-wan-pulse-oximeter-spo2.hl7', 'AcmeInc', '', 'AA'],
  ['continua-wan-thermometer-degF.hl7', 'AcmeInc', '', 'AA'],
  ['continua-wan-scale-weight.hl7', 'AcmeInc', '', 'AA'],
  ['pcd01-ack-response.hl7', 'Stepstone', '', 'AR'],
];

function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

// Every wardd started, so that none outlives the run even when a client
// throws out of a test (node-hl7-client raises from its socket handler).
const running = new Set();
process.on('exit', () => { for (const p of running) p.kill('SIGKILL'); });

// A fresh wardd with the sender registered; resolves to { port, stop }.
async function startWardd(app, fac) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wardd-hl7c-'));
  const db = path.join(dir, 'ward.db');
  execFileSync(wardd, ['feed', 'add', '--db', db, '--name', 'PCD', '--kind', 'device_gateway',
    '--sending-application', app, '--sending-facility', fac, '--address', '127.0.0.1'],
  { stdio: ['ignore', 'ignore', 'pipe'] });
  const proc = spawn(wardd, ['serve', '--db', db, '--listen', '127.0.0.1:0', '--port-file',
    path.join(dir, 'port'), '--mllp', '127.0.0.1:0'], { stdio: ['ignore', 'ignore', 'pipe'] });
  running.add(proc);
  proc.once('exit', () => running.delete(proc));
  let log = '';
  proc.stderr.on('data', (d) => { log += d; });
  const portFile = path.join(dir, 'port.mllp');
  for (let i = 0; i < 200 && !fs.existsSync(portFile); i++) await sleep(25);
  assert.ok(fs.existsSync(portFile), `wardd did not start:\n${log}`);
  const port = Number(fs.readFileSync(portFile, 'utf8'));
  const stop = async () => {
    const exited = new Promise((r) => proc.once('exit', (code) => r(code)));
    proc.kill('SIGTERM');
    const code = await exited;
    fs.rmSync(dir, { recursive: true, force: true });
    assert.equal(code, 0, `wardd did not stop cleanly:\n${log}`);
  };
  return { port, stop };
}

function fixture(file) {
  // latin1: the maximal fixture declares 8859/1; the bytes go out unchanged.
  return fs.readFileSync(path.join(here, 'fixtures', 'pcd01', file), 'latin1');
}

// node-hl7-client 1.1.3: send on 'client.connect' (sending earlier opens a
// second connection), wait for the ACK callback, with an outer timeout.
async function viaNodeHl7Client(port, text) {
  const { Client, Message } = require('node-hl7-client');
  const client = new Client({ host: '127.0.0.1' });
  let outbound;
  const ack = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no ACK within 10 s')), 10000);
    outbound = client.createOutbound({ port, waitAck: true }, async (res) => {
      clearTimeout(timer);
      // 1.1.3's Message splits on CR and chokes on the empty piece after a
      // conforming final CR ("Segment must have a name"): read the ACK's
      // text it received and take MSA from there.
      const text = res.getMessage()._text;
      const msa = text.split('\r').find((s) => s.startsWith('MSA|')).split('|');
      resolve({ code: msa[1], ctl: msa[2] });
    });
    outbound.once('client.connect', () => {
      outbound.sendMessage(new Message({ text })).catch(reject);
    });
  });
  try {
    return await ack;
  } finally {
    await outbound.close().catch(() => {});
  }
}

// simple-hl7 3.3.0: its parser wants CR segment ends and no final CR.
async function viaSimpleHl7(port, text) {
  const hl7 = require('simple-hl7');
  const msg = new hl7.Parser({ segmentSeperator: '\r' }).parse(text.replace(/\r\n/g, '\r').replace(/\r$/, ''));
  const client = hl7.Server.createTcpClient('127.0.0.1', port);
  try {
    return await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no ACK within 10 s')), 10000);
      client.send(msg, (err, ack) => {
        clearTimeout(timer);
        if (err) return reject(err);
        const msa = ack.getSegment('MSA');
        resolve({ code: msa.getField(1), ctl: msa.getField(2) });
      });
    });
  } finally {
    client.close();
  }
}

// The control id each fixture carries (MSH-10).
function controlId(text) {
  return text.split(/\r\n?|\n/)[0].split('|')[9];
}

for (const [name, send] of [['node-hl7-client', viaNodeHl7Client], ['simple-hl7', viaSimpleHl7]]) {
  for (const [file, app, fac, code] of cases) {
    test(`${name} delivers ${file}: ${code}`, async () => {
      const w = await startWardd(app, fac);
      try {
        const text = fixture(file);
        const ack = await send(w.port, text);
        assert.equal(ack.code, code);
        assert.equal(ack.ctl, controlId(text));
      } finally {
        await w.stop();
      }
    });
  }
}

// node-hl7-client leaves a socket handle open after close:
// end the process once the tests have run.
test.after(() => setTimeout(() => {
  for (const p of running) p.kill('SIGTERM');
  process.exit(process.exitCode ?? 0);
}, 100).unref());
