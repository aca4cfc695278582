// The raw RTCDataChannel ceiling: one ordered channel between two tabs, plain JS, no app code.
// run.mjs calls `rawReceive(run)` in one tab and `rawSend(run, options)` in the other; both meet on the
// BroadcastChannel `raw-bench-<run>` for the offer, the answer and ICE candidates.
'use strict';

/** crypto.getRandomValues fills at most 65,536 bytes per call. */
const RANDOM_FILL_MAX = 65536;

function signalingChannel(run) {
  return new BroadcastChannel(`raw-bench-${run}`);
}

/** Adds remote candidates only once the remote description is set (they can arrive first). */
function candidateSink(pc, remoteSet) {
  return (candidate) => remoteSet.then(() => pc.addIceCandidate(candidate));
}

/**
 * The receiving tab: answers the offer, counts bytes, reports `done` once `total` bytes arrived. With `echo`, it
 * sends that many 16-byte messages back per message received (a diagnostic: the app's downloader sends requests
 * and `Have`s back, where the raw channel sends nothing).
 */
window.rawReceive = function rawReceive(run, echo = 0) {
  const bc = signalingChannel(run);
  const pc = new RTCPeerConnection();
  let setRemote;
  const remoteSet = new Promise((resolve) => (setRemote = resolve));
  const addCandidate = candidateSink(pc, remoteSet);
  let expected = Infinity;
  let received = 0;
  let reported = false;
  // The longest time between two messages, ms: shows a stall of the association (a retransmission timeout).
  let last = null;
  let longestGap = 0;
  // When the receiver held half of `expected`: the second half's time is the channel's steady rate, without the
  // start of the association (SCTP's slow start and any stall it ends in).
  let halfAt = null;
  const report = () => {
    if (!reported && received >= expected) {
      reported = true;
      bc.postMessage({ type: 'done', received, longestGap, secondHalfMs: performance.now() - halfAt });
    }
  };
  pc.onicecandidate = (e) => e.candidate && bc.postMessage({ type: 'candidate', candidate: e.candidate.toJSON() });
  const small = new Uint8Array(16);
  pc.ondatachannel = ({ channel }) => {
    channel.binaryType = 'arraybuffer';
    channel.onmessage = ({ data }) => {
      for (let k = 0; k < echo; k++) channel.send(small);
      const now = performance.now();
      if (last !== null) longestGap = Math.max(longestGap, now - last);
      last = now;
      received += data.byteLength;
      if (halfAt === null && received >= expected / 2) halfAt = now;
      report();
    };
  };
  bc.onmessage = async ({ data }) => {
    if (data.type === 'offer') {
      await pc.setRemoteDescription(data.sdp);
      setRemote();
      await pc.setLocalDescription();
      bc.postMessage({ type: 'answer', sdp: pc.localDescription.toJSON() });
    } else if (data.type === 'candidate') {
      await addCandidate(data.candidate);
    } else if (data.type === 'expect') {
      expected = data.total;
      if (halfAt === null && received >= expected / 2) halfAt = performance.now();
      report();
    } else if (data.type === 'close') {
      pc.close();
      bc.close();
    }
  };
  return 'receiving';
};

/**
 * The sending tab: offers a channel, then sends `total` bytes in `messageSize`-byte messages, keeping
 * `bufferedAmount` under `highWater` (resuming on `bufferedamountlow` at `lowWater`). Resolves with the time from
 * the first send to the receiver's `done` (`ms`), and the receiver's figures: bytes, longest pause and the time it
 * took to receive the second half of the bytes (`secondHalfMs`), in milliseconds.
 */
window.rawSend = async function rawSend(run, { messageSize, total, highWater, lowWater }) {
  const bc = signalingChannel(run);
  const pc = new RTCPeerConnection();
  let setRemote;
  const remoteSet = new Promise((resolve) => (setRemote = resolve));
  const addCandidate = candidateSink(pc, remoteSet);
  let doneResolve;
  const done = new Promise((resolve) => (doneResolve = resolve));
  pc.onicecandidate = (e) => e.candidate && bc.postMessage({ type: 'candidate', candidate: e.candidate.toJSON() });
  bc.onmessage = async ({ data }) => {
    if (data.type === 'answer') {
      await pc.setRemoteDescription(data.sdp);
      setRemote();
    } else if (data.type === 'candidate') {
      await addCandidate(data.candidate);
    } else if (data.type === 'done') {
      doneResolve(data);
    }
  };
  const dc = pc.createDataChannel('bench', { ordered: true });
  dc.binaryType = 'arraybuffer';
  dc.bufferedAmountLowThreshold = lowWater;
  const open = new Promise((resolve) => (dc.onopen = resolve));
  await pc.setLocalDescription();
  bc.postMessage({ type: 'offer', sdp: pc.localDescription.toJSON() });
  await open;

  const message = new Uint8Array(messageSize);
  for (let i = 0; i < messageSize; i += RANDOM_FILL_MAX) {
    crypto.getRandomValues(message.subarray(i, Math.min(messageSize, i + RANDOM_FILL_MAX)));
  }
  bc.postMessage({ type: 'expect', total });
  const started = performance.now();
  for (let sent = 0; sent < total; ) {
    const n = Math.min(messageSize, total - sent);
    if (dc.bufferedAmount + n > highWater) {
      await new Promise((resolve) => dc.addEventListener('bufferedamountlow', resolve, { once: true }));
    }
    dc.send(n === messageSize ? message : message.subarray(0, n));
    sent += n;
  }
  const { received, longestGap, secondHalfMs } = await done;
  const ms = performance.now() - started;
  bc.postMessage({ type: 'close' });
  dc.close();
  pc.close();
  bc.close();
  return { ms, received, longestGap, secondHalfMs };
};
