"""The multi-user server (``os1 serve``): REST, WebSocket, SSE and an OpenAI-compatible API.

Each account gets its own OS1 home under ``$OS1_HOME/users/<id>/``; the model and the
embedding models are shared because they hold no user data. This is the only package that
imports the web framework (Starlette, uvicorn). See docs/server.md.
"""
