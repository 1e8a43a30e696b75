"""The companion itself: first run, persona, the conversation loop, and reflection."""
