import { createSender } from '../../dist/delivery/http-sender.js';
const port = Number(process.argv[2]); const N = 200000; const CONC = 100;
const sender = createSender();
const payload = JSON.stringify({ type: 'x', data: { s: 'x'.repeat(450) } });
const spec = { messageId: 'msg_01JABCDEFGHJKMNPQRSTVWXYZ', payload, timestampSec: 1764000000, attempt: 1, secrets: ['whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'], signatureHeaderName: null, basicAuth: null, customHeaders: {}, userAgent: 'Hookline/0.1.0' };
let sent = 0, done = 0; const c0 = process.cpuUsage(); const t0 = performance.now();
function one() { if (sent >= N) return; sent++; sender.send(`http://127.0.0.1:${port}/wh${sent % 10}`, spec, 5000).then((r) => { if (r.error) throw new Error(r.error); if (++done === N) { const c = process.cpuUsage(c0); console.log('client µs/req', ((c.user + c.system) / N).toFixed(2), 'rate', (N / ((performance.now() - t0) / 1000)).toFixed(0)); process.exit(0); } one(); }); }
for (let i = 0; i < CONC; i++) one();
