from django.core.servers.basehttp import WSGIServer

# The live server listens with a backlog of 10; the concurrent-checkout test opens 40 connections
# at once, which would be reset by the kernel before the server ever saw them. Set before the
# (session-scoped) live server starts, i.e. at collection time.
WSGIServer.request_queue_size = 256
