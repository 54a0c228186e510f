#!/usr/bin/env python3
"""A WHEP player for the browser tests: aiortc watches a broadcast and
decodes its video, as a player that is not a browser would.

Usage: whep_watch.py URL CA_PEM BEARER_KEY FRAMES
Prints "decoded N frames WIDTHxHEIGHT" and exits 0 once FRAMES video frames
were decoded, or exits 1 after 20 s.
"""

import asyncio
import sys
import urllib.parse

from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription

from whip_http import request as http


async def main(url, ca, key, wanted):
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    pc.addTransceiver("video", direction="recvonly")
    pc.addTransceiver("audio", direction="recvonly")
    got_track = asyncio.get_running_loop().create_future()

    @pc.on("track")
    def on_track(track):
        if track.kind == "video" and not got_track.done():
            got_track.set_result(track)

    await pc.setLocalDescription(await pc.createOffer())
    loop = asyncio.get_running_loop()
    status, location, answer = await loop.run_in_executor(
        None, http, "POST", url, ca, key, pc.localDescription.sdp.encode()
    )
    if status != 201 or not location:
        raise SystemExit(f"WHEP answered {status} without a Location")
    await pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
    track = await got_track
    frames, size = 0, None
    while frames < wanted:
        frame = await track.recv()
        frames += 1
        size = f"{frame.width}x{frame.height}"
    print(f"decoded {frames} frames {size}", flush=True)
    await loop.run_in_executor(None, http, "DELETE", urllib.parse.urljoin(url, location), ca, key)
    await pc.close()


if __name__ == "__main__":
    if len(sys.argv) != 5:
        raise SystemExit(__doc__)
    try:
        asyncio.run(asyncio.wait_for(main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])), 20))
    except asyncio.TimeoutError:
        print("no video decoded in time", flush=True)
        sys.exit(1)
