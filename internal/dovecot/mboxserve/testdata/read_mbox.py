# Reads mbox files with Python's mailbox module and prints, as JSON, what
# it sees in each: every message's bytes (without the From_ line), its
# Status/X-Status flags as mailbox.mboxMessage reports them, and its
# X-Keywords header.
import base64
import json
import mailbox
import sys

out = {}
for path in sys.argv[1:]:
    box = mailbox.mbox(path, create=False)
    msgs = []
    for key in box.iterkeys():
        raw = box.get_bytes(key)
        msg = box.get_message(key)
        msgs.append({
            "bytes": base64.b64encode(raw).decode("ascii"),
            "flags": msg.get_flags(),
            "keywords": msg.get("X-Keywords", ""),
        })
    box.close()
    out[path] = msgs
json.dump(out, sys.stdout)
