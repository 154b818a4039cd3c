#!/usr/bin/python3
"""The aiortc side of the interoperability test (tests/integration/interop).

An aiortc RTCPeerConnection (its own ICE, DTLS, SRTP, Opus and VP8: python3-aiortc) driven by the
test over a Unix socket, one JSON object per line. It never sees XMPP: the test translates its SDP
to Jingle and back.

From the test:
  {"op": "offer", "sdp": ...}         remote offer: answer it -> {"op": "answer", "sdp": ...}
  {"op": "make-offer"}                make an offer (audio, and video with --video)
                                      -> {"op": "offer", "sdp": ...}
  {"op": "answer", "sdp": ...}        remote answer to our offer
  {"op": "candidate", "mid": ..., "candidate": "<a=candidate value>"}   trickled remote candidate
  {"op": "close"}                     hang up, finish the WAV file
                                      -> {"op": "closed", "audio_frames": n, "video_frames": n}
To the test: {"op": "ready"} once connected to the socket, {"op": "state", "state": ...} on each
connectionState change, {"op": "error", "text": ...} when a step fails.

It sends a sine tone (--tone Hz, 0.3 of full scale, 48 kHz mono, 20 ms frames) and, with --video,
aiortc's blank test video; it writes the first channel of the audio it receives to --wav (48 kHz,
16-bit mono) and counts decoded video frames. Network: loopback only, no STUN/TURN servers.
"""

import argparse
import asyncio
import fractions
import json
import math
import sys
import time
import wave

import aioice.ice
import numpy
from av import AudioFrame
from aiortc import (MediaStreamTrack, RTCConfiguration, RTCPeerConnection,
                    RTCSessionDescription, VideoStreamTrack)
from aiortc.mediastreams import MediaStreamError
from aiortc.sdp import candidate_from_sdp

# Host candidates on the loopback interface only (aioice leaves it out by default): the test's
# traffic never leaves this machine.
aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: ["127.0.0.1"]

RATE = 48000
PTIME = 0.020


class ToneTrack(MediaStreamTrack):
    """A sine tone in real time, 20 ms per frame."""

    kind = "audio"

    def __init__(self, hz):
        super().__init__()
        self._hz = hz
        self._samples = int(RATE * PTIME)
        self._pts = 0
        self._start = None

    async def recv(self):
        if self.readyState != "live":
            raise MediaStreamError
        if self._start is None:
            self._start = time.time()
        else:
            wait = self._start + self._pts / RATE - time.time()
            if wait > 0:
                await asyncio.sleep(wait)
        t = (self._pts + numpy.arange(self._samples)) / RATE
        pcm = (0.3 * 32767 * numpy.sin(2 * math.pi * self._hz * t)).astype(numpy.int16)
        frame = AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = RATE
        frame.pts = self._pts
        frame.time_base = fractions.Fraction(1, RATE)
        self._pts += self._samples
        return frame


class Peer:
    def __init__(self, args, reader, writer):
        self.args = args
        self.reader = reader
        self.writer = writer
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.wav = wave.open(args.wav, "wb")
        self.wav.setnchannels(1)
        self.wav.setsampwidth(2)
        self.wav.setframerate(RATE)
        self.audio_frames = 0
        self.video_frames = 0
        self.tasks = []
        self.pc.on("connectionstatechange", self.on_state)
        self.pc.on("track", self.on_track)

    def send(self, message):
        self.writer.write((json.dumps(message) + "\n").encode())

    def on_state(self):
        print("connection state", self.pc.connectionState, flush=True)
        self.send({"op": "state", "state": self.pc.connectionState})

    def on_track(self, track):
        print("remote track", track.kind, flush=True)
        self.tasks.append(asyncio.ensure_future(self.consume(track)))

    async def consume(self, track):
        try:
            while True:
                frame = await track.recv()
                if track.kind == "video":
                    self.video_frames += 1
                    continue
                pcm = frame.to_ndarray()  # packed: one row, channels interleaved
                channels = len(frame.layout.channels)
                mono = pcm.reshape(-1)[::channels]
                if frame.sample_rate != RATE or frame.format.name != "s16":
                    raise RuntimeError(f"unexpected audio {frame.format.name} {frame.sample_rate}")
                self.wav.writeframes(mono.astype("<i2").tobytes())
                self.audio_frames += 1
        except MediaStreamError:
            pass

    def add_tracks(self):
        self.pc.addTrack(ToneTrack(self.args.tone))
        if self.args.video:
            self.pc.addTrack(VideoStreamTrack())

    async def handle(self, message):
        op = message.get("op")
        if op == "offer":
            self.add_tracks()
            await self.pc.setRemoteDescription(RTCSessionDescription(message["sdp"], "offer"))
            await self.pc.setLocalDescription(await self.pc.createAnswer())
            self.send({"op": "answer", "sdp": self.pc.localDescription.sdp})
        elif op == "make-offer":
            self.add_tracks()
            await self.pc.setLocalDescription(await self.pc.createOffer())
            self.send({"op": "offer", "sdp": self.pc.localDescription.sdp})
        elif op == "answer":
            await self.pc.setRemoteDescription(RTCSessionDescription(message["sdp"], "answer"))
        elif op == "candidate":
            candidate = candidate_from_sdp(message["candidate"])
            candidate.sdpMid = message["mid"]
            await self.pc.addIceCandidate(candidate)
        elif op == "close":
            return False
        else:
            raise ValueError(f"unknown op {op!r}")
        return True

    async def run(self):
        self.send({"op": "ready"})
        try:
            while True:
                line = await self.reader.readline()
                if not line:
                    break  # the test went away
                message = json.loads(line)
                print("<-", message.get("op"), flush=True)
                try:
                    if not await self.handle(message):
                        break
                except Exception as e:  # reported to the test, which fails
                    print("error:", repr(e), flush=True)
                    self.send({"op": "error", "text": f"{message.get('op')}: {e!r}"})
                await self.writer.drain()
        finally:
            await self.pc.close()
            for task in self.tasks:
                task.cancel()
            await asyncio.gather(*self.tasks, return_exceptions=True)
            self.wav.close()
            self.send({"op": "closed", "audio_frames": self.audio_frames,
                       "video_frames": self.video_frames})
            await self.writer.drain()
            self.writer.close()


async def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--socket", required=True, help="the test's Unix socket")
    parser.add_argument("--wav", required=True, help="write the received audio here")
    parser.add_argument("--tone", type=float, default=880.0, help="send a sine of this frequency")
    parser.add_argument("--video", action="store_true", help="also send and receive video")
    args = parser.parse_args()
    reader, writer = await asyncio.open_unix_connection(args.socket)
    await Peer(args, reader, writer).run()


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
