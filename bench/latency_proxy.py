"""A TCP proxy that adds LATENCY ms before each HTTP response, as an object
store across a network would: `python bench/latency_proxy.py LISTEN_PORT
UPSTREAM_PORT LATENCY_MS`. Used by bench/object-store.sh (LATENCY_MS=...)."""
import asyncio
import sys

LISTEN, UPSTREAM, LATENCY = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]) / 1000


async def handle(client_r, client_w):
    server_r, server_w = await asyncio.open_connection("127.0.0.1", UPSTREAM)
    asked = asyncio.Event()

    async def up():
        while data := await client_r.read(1 << 16):
            asked.set()
            server_w.write(data)
            await server_w.drain()
        server_w.close()

    async def down():
        while data := await server_r.read(1 << 16):
            if asked.is_set():
                asked.clear()
                await asyncio.sleep(LATENCY)  # the response's first byte arrives late
            client_w.write(data)
            await client_w.drain()
        client_w.close()

    await asyncio.gather(up(), down(), return_exceptions=True)


async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", LISTEN)
    async with server:
        await server.serve_forever()


asyncio.run(main())
