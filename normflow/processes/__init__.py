"""The four core processes, one module each: information exchange,
accountability pressure, agenda-setting, interstate negotiation."""
