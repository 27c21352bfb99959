"""``matcalc serve``: the local web page and its JSON API (see ``service`` for the contract,
``server`` for the HTTP side, ``workers`` for the time and memory limits)."""
