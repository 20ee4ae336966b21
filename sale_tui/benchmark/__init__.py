"""``sale-tui bench run``: task streams through routing strategies, side by side.

Every (task, agent) pair is solved and graded once and cached (``outcomes``); the strategies
that pick one agent per task (single agents, always-largest, random, cascade, oracle) are then
read off that table, so they are compared on the very same attempts. Graders run code only in
the Docker sandbox, never on the host.
"""
