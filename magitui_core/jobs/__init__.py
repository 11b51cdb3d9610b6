"""Jobs: long tasks as detached, supervised process groups that outlive the terminal.

Exposes the job manager (start, list, stop, remove: `manager`), the supervisor process that owns
one job (`supervisor`), its status.json (`status`), the typed event stream (`events`) and the
byte-offset file follower every viewer tails them with (`tail`).
"""
