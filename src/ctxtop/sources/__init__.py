"""One package per tool whose logs ctxtop reads; the only code that knows a tool's layout and JSON.

``base`` holds the Source protocol, ``registry`` the registered kinds and the instances in effect."""
