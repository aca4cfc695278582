// The native peer's WebRTC transport (webrtc-rs 0.21 with swarm-peer's settings, through the real signaling
// server) and Chromium: the browser joins a swarm, offers with trickle ICE to the native echo probe, and data-channel
// messages up to the protocol's 256 KiB limit come back intact. No swarm protocol and no app UI: this is the layer
// under both peers, checked on its own.
import assert from 'node:assert/strict';
import { spec } from '../harness/scenario.mjs';
import { ECHO_PEER_BIN, startEchoPeer, wsUrl } from '../harness/native-peer.mjs';
import { existsSync } from 'node:fs';

const skip = existsSync(ECHO_PEER_BIN) ? false : `no ${ECHO_PEER_BIN} (cargo test builds it)`;
const SWARM = 'ab'.repeat(32);
/** swarm::wire::MAX_MESSAGE_LEN, and what Chromium accepts. */
const MAX_MESSAGE_LEN = 256 * 1024;

spec('browser_and_native_exchange_messages_up_to_256_kib', { timeout: 60_000, skip }, async (s) => {
  const echo = await startEchoPeer(s.server.url, SWARM);
  try {
    const page = await (await s.user()).newPage();
    await page.goto(s.server.url);
    const result = await page.evaluate(
      async ({ ws, swarm, sizes }) => {
        const sock = new WebSocket(ws);
        const inbox = [];
        let wake = () => {};
        sock.onmessage = (e) => {
          inbox.push(JSON.parse(e.data));
          wake();
        };
        const next = async (type) => {
          for (;;) {
            const i = inbox.findIndex((m) => m.type === type);
            if (i >= 0) return inbox.splice(i, 1)[0];
            await new Promise((r) => (wake = r));
          }
        };
        await next('welcome');
        sock.send(JSON.stringify({ type: 'join', swarm }));
        const [to] = (await next('joined')).peers;
        const pc = new RTCPeerConnection();
        pc.onicecandidate = ({ candidate: c }) => {
          if (!c) return;
          const payload = { kind: 'candidate', candidate: c.candidate, sdp_mid: c.sdpMid, sdp_m_line_index: c.sdpMLineIndex };
          sock.send(JSON.stringify({ type: 'signal', to, payload }));
        };
        const dc = pc.createDataChannel(swarm, { ordered: true });
        dc.binaryType = 'arraybuffer';
        await pc.setLocalDescription();
        sock.send(JSON.stringify({ type: 'signal', to, payload: { kind: 'offer', sdp: pc.localDescription.sdp } }));
        const answer = await next('signal');
        await pc.setRemoteDescription({ type: 'answer', sdp: answer.payload.sdp });
        await new Promise((r) => (dc.onopen = r));
        const echoed = [];
        for (const len of sizes) {
          const sent = new Uint8Array(len).map((_, i) => i % 251);
          const back = new Promise((r) => (dc.onmessage = (e) => r(new Uint8Array(e.data))));
          dc.send(sent);
          const got = await back;
          echoed.push({ len, gotLen: got.length, same: got.every((b, i) => b === i % 251) });
        }
        pc.close();
        sock.close();
        return { echoed };
      },
      { ws: wsUrl(s.server.url), swarm: SWARM, sizes: [1, 16 * 1024, 128 * 1024 + 9, MAX_MESSAGE_LEN] },
    );
    for (const { len, gotLen, same } of result.echoed) {
      assert.equal(gotLen, len, `a ${len}-byte message came back whole`);
      assert.ok(same, `a ${len}-byte message came back unchanged`);
    }
  } catch (e) {
    console.error(`--- echo_peer stderr\n${echo.stderr()}`);
    throw e;
  } finally {
    await echo.stop();
  }
});
