"""Live recognition: per-stream tracking and matching (streams), the websocket (consumers), the Channels worker
that runs inference away from the websocket servers (worker), and the live page (views)."""
