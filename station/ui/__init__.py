"""The technicians' Textual TUI: a thin layer over the headless engine.

``digibank-station`` (or ``digibank-station tui [--simulate]``) starts it. Layout: the
live device table (one row per attached disk or tablet, from the engine's detection
events), a detail line for the selected device, the job log, and the keys:

    i intake   d diagnose   w wipe   g grade   p label   r ready   x stop job
    c certificates   l language   ? help   q quit

Modules: ``core`` (records, detection worker, job messages, the ordered outbox writer),
``actions`` and ``tablet_actions`` (what the keys do), ``dialogs``/``grade``/``tablet``
(modal screens), ``screens`` (help, certificates), ``widgets`` (table, detail line, key
bar), ``model`` (plain per-device state and the readiness rule), ``i18n`` (nl/en texts).
Logs go to ``<data_dir>/station.log`` and Textual's devtools, never to the terminal.
"""
