"""Interface texts in Dutch (default) and English; the engine's own reasons stay as it says them."""

from __future__ import annotations

LANGUAGES = ("nl", "en")

_NL: dict[str, str] = {
    "title": "Digibank refurbishment-station",
    "simulated": "SIMULATIE (oefenmodus, er wordt niets gewist)",
    "col_slot": "Poort",
    "col_kind": "Soort",
    "col_model": "Merk/model",
    "col_serial": "Serienummer",
    "col_size": "Grootte",
    "col_tag": "Inventaris",
    "col_smart": "SMART",
    "col_job": "Taak",
    "last_wipe": "Wissing",
    "grades": "Graad",
    "col_progress": "Voortgang",
    "col_speed": "Snelheid",
    "col_eta": "Resterend",
    "b_intake": "Intake",
    "b_diagnose": "Diagnose",
    "b_wipe": "Wissen",
    "b_grade": "Graderen",
    "b_label": "Label",
    "b_ready": "Klaar",
    "b_cancel": "Stop taak",
    "b_certs": "Certificaten",
    "b_history": "Historiek",
    "history_title": "Historiek: {dev}",
    "hist_server": "van de server",
    "hist_unreachable": "server onbereikbaar, dit zijn de gegevens van dit station",
    "hist_not_on_server": "nog niet gekend op de server, dit zijn de gegevens van dit station",
    "hist_no_server": "geen server ingesteld, dit zijn de gegevens van dit station",
    "hist_queued": "{n} nog te verzenden",
    "hist_from_server": "server",
    "hist_local": "lokaal",
    "hist_wipe": "wissing",
    "hist_diagnostics": "diagnose",
    "hist_condition": "gradering",
    "hist_event": "status",
    "hcol_when": "Wanneer",
    "hcol_what": "Wat",
    "hcol_status": "Resultaat",
    "hcol_detail": "Details",
    "hcol_cert": "Cert.",
    "b_help": "Hulp",
    "b_lang": "English",
    "b_quit": "Afsluiten",
    "b_close": "Sluiten",
    "b_verify": "Controleren",
    "no_device": "Geen toestel geselecteerd",
    "attached": "aangesloten",
    "detached": "losgekoppeld",
    "job_started": "gestart",
    "refused": "Geweigerd",
    "busy": "er loopt al een taak op dit toestel",
    "cancelling": "taak wordt gestopt",
    "nothing_running": "geen lopende taak",
    "ready_ok": "klaar voor uitlening",
    "ready_refused": "kan niet als klaar gemarkeerd worden",
    "label_written": "label geschreven",
    "no_tag": "geen inventarisnummer: doe eerst de intake",
    "intake_queued": "intake in de wachtrij voor de server",
    "no_server": "geen server ingesteld (alleen lokaal bewaard)",
    "tag_found": "inventarisnummer gevonden",
    "not_on_server": "nog niet gekend op de server",
    "server_unreachable": "server onbereikbaar",
    "sim_no_diagnosis": "diagnose is niet beschikbaar in de simulatie",
    "reset_recorded": "reset vastgelegd",
    "quit_running": (
        "Er lopen nog {n} taken: druk binnen 5 s nogmaals q om ze te stoppen "
        "(ze eindigen onvolledig) en af te sluiten"
    ),
    "wipe_title": "Wissen van {dev}",
    "wipe_method": "Methode (sterkste eerst)",
    "wipe_refusals": "Het station weigert dit toestel te wissen:",
    "wipe_confirm": "Typ {what} om te bevestigen:",
    "confirm_serial": "de laatste 4 tekens van het serienummer",
    "confirm_name": "de kernelnaam ({name})",
    "wipe_start": "Wissen",
    "cancel": "Annuleren",
    "unavailable": "niet beschikbaar",
    "checking": "controleren…",
    "grade_title": "Graderen: {dev}",
    "cosmetic": "Uiterlijk (A–E)",
    "cosmetic_short": "Uiterlijk",
    "functional": "Werking",
    "battery": "Batterij",
    "battery_health": "Batterijgezondheid %",
    "battery_cycles": "Laadcycli",
    "works": "werkt",
    "faulty": "defect",
    "not_applicable": "n.v.t.",
    "item_screen": "Scherm",
    "item_keyboard_touch": "Toetsenbord/aanraak",
    "item_trackpad": "Touchpad",
    "item_camera": "Camera",
    "item_audio": "Geluid",
    "item_ports": "Poorten",
    "item_hinges_case": "Scharnieren/behuizing",
    "item_charger_present": "Lader aanwezig",
    "lendable": "Uitleenbaar",
    "not_lendable": "Niet uitleenbaar",
    "save": "Opslaan",
    "grade_keys": "←/→ of 1–5: kiezen · ↑/↓: veld",
    "unknown": "onbekend",
    "intake_title": "Intake: {dev}",
    "intake_register": "Aanmelden op server",
    "intake_tag": "Inventarisnummer (als het toestel al een label heeft)",
    "serial_source": "bron serienummer",
    "reset_title": "Fabrieksreset: {dev}",
    "reset_question": "Toont het toestel het welkomstscherm, zonder accounts?",
    "reset_done": "Reset gedaan",
    "reset_not_done": "Niet gelukt",
    "certs_title": "Certificaten",
    "col_file": "Bestand",
    "col_status": "Resultaat",
    "col_method": "Methode",
    "col_signature": "Handtekening",
    "valid": "geldig",
    "invalid": "ONGELDIG",
    "help_title": "Hulp",
    "help_text": (
        "Toetsen (ook onderaan het scherm):\n"
        "  i  intake: inventarisnummer opzoeken of aanmaken\n"
        "  d  diagnose (SMART en volledige leestest)\n"
        "  w  wissen (NIST 800-88; sterkste methode eerst; bevestig met\n"
        "     de laatste 4 tekens van het serienummer, of de kernelnaam)\n"
        "  g  graderen (uiterlijk, werking, batterij)\n"
        "  p  label afdrukken (QR-code, PNG en PDF)\n"
        "  r  markeren als klaar voor uitlening\n"
        "  x  lopende taak stoppen      c  certificaten\n"
        "  h  historiek (van de server, anders van dit station)\n"
        "  l  taal (Nederlands/English) ?  deze hulp    q  afsluiten\n"
        "In vensters: Esc annuleert, Ctrl+S bewaart de gradering.\n\n"
        "Een onderbroken, geannuleerde of mislukte wissing maakt een\n"
        "toestel nooit 'klaar'. Een gekoppelde schijf, de systeemschijf,\n"
        "swap of RAID/LVM wordt nooit gewist."
    ),
}

_EN: dict[str, str] = {
    "title": "Digibank refurbishment station",
    "simulated": "SIMULATION (training mode, nothing is erased)",
    "col_slot": "Port",
    "col_kind": "Kind",
    "col_model": "Make/model",
    "col_serial": "Serial",
    "col_size": "Size",
    "col_tag": "Asset tag",
    "col_smart": "SMART",
    "col_job": "Job",
    "last_wipe": "Wipe",
    "grades": "Grades",
    "col_progress": "Progress",
    "col_speed": "Speed",
    "col_eta": "ETA",
    "b_intake": "Intake",
    "b_diagnose": "Diagnose",
    "b_wipe": "Wipe",
    "b_grade": "Grade",
    "b_label": "Label",
    "b_ready": "Ready",
    "b_cancel": "Stop job",
    "b_certs": "Certificates",
    "b_history": "History",
    "history_title": "History: {dev}",
    "hist_server": "from the server",
    "hist_unreachable": "server unreachable, this is what this station holds",
    "hist_not_on_server": "not yet known on the server, this is what this station holds",
    "hist_no_server": "no server configured, this is what this station holds",
    "hist_queued": "{n} waiting to be sent",
    "hist_from_server": "server",
    "hist_local": "local",
    "hist_wipe": "wipe",
    "hist_diagnostics": "diagnosis",
    "hist_condition": "grading",
    "hist_event": "state",
    "hcol_when": "When",
    "hcol_what": "What",
    "hcol_status": "Result",
    "hcol_detail": "Details",
    "hcol_cert": "Cert.",
    "b_help": "Help",
    "b_lang": "Nederlands",
    "b_quit": "Quit",
    "b_close": "Close",
    "b_verify": "Verify",
    "no_device": "No device selected",
    "attached": "attached",
    "detached": "detached",
    "job_started": "started",
    "refused": "Refused",
    "busy": "a job is already running on this device",
    "cancelling": "stopping the job",
    "nothing_running": "no job running",
    "ready_ok": "ready for lending",
    "ready_refused": "cannot be marked ready",
    "label_written": "label written",
    "no_tag": "no asset tag: do the intake first",
    "intake_queued": "intake queued for the server",
    "no_server": "no server configured (kept locally only)",
    "tag_found": "asset tag found",
    "not_on_server": "not yet known on the server",
    "server_unreachable": "server unreachable",
    "sim_no_diagnosis": "diagnosis is not available in the simulation",
    "reset_recorded": "reset recorded",
    "quit_running": (
        "{n} job(s) still running: press q again within 5 s to stop them "
        "(they end incomplete) and quit"
    ),
    "wipe_title": "Wipe {dev}",
    "wipe_method": "Method (strongest first)",
    "wipe_refusals": "The station refuses to wipe this device:",
    "wipe_confirm": "Type {what} to confirm:",
    "confirm_serial": "the last 4 characters of the serial",
    "confirm_name": "the kernel name ({name})",
    "wipe_start": "Wipe",
    "cancel": "Cancel",
    "unavailable": "not available",
    "checking": "checking…",
    "grade_title": "Grade: {dev}",
    "cosmetic": "Cosmetic (A–E)",
    "cosmetic_short": "Cosmetic",
    "functional": "Functional",
    "battery": "Battery",
    "battery_health": "Battery health %",
    "battery_cycles": "Charge cycles",
    "works": "works",
    "faulty": "faulty",
    "not_applicable": "n/a",
    "item_screen": "Screen",
    "item_keyboard_touch": "Keyboard/touch",
    "item_trackpad": "Trackpad",
    "item_camera": "Camera",
    "item_audio": "Audio",
    "item_ports": "Ports",
    "item_hinges_case": "Hinges/case",
    "item_charger_present": "Charger present",
    "lendable": "Lendable",
    "not_lendable": "Not lendable",
    "save": "Save",
    "grade_keys": "←/→ or 1–5: pick · ↑/↓: field",
    "unknown": "unknown",
    "intake_title": "Intake: {dev}",
    "intake_register": "Register on server",
    "intake_tag": "Asset tag (if the device is already labelled)",
    "serial_source": "serial from",
    "reset_title": "Factory reset: {dev}",
    "reset_question": "Does the device show the setup screen, without accounts?",
    "reset_done": "Reset done",
    "reset_not_done": "Not done",
    "certs_title": "Certificates",
    "col_file": "File",
    "col_status": "Result",
    "col_method": "Method",
    "col_signature": "Signature",
    "valid": "valid",
    "invalid": "INVALID",
    "help_title": "Help",
    "help_text": (
        "Keys (also at the bottom of the screen):\n"
        "  i  intake: look up or create the asset tag\n"
        "  d  diagnose (SMART and full read scan)\n"
        "  w  wipe (NIST 800-88; strongest method first; confirm with\n"
        "     the last 4 characters of the serial, or the kernel name)\n"
        "  g  grade (cosmetic, functional, battery)\n"
        "  p  print label (QR code, PNG and PDF)\n"
        "  r  mark ready for lending\n"
        "  x  stop the running job      c  certificates\n"
        "  h  history (from the server, else this station's own)\n"
        "  l  language (Nederlands/English)  ?  this help   q  quit\n"
        "In dialogs: Esc cancels, Ctrl+S saves the grading.\n\n"
        "An interrupted, cancelled or failed wipe never makes a device\n"
        "'ready'. A mounted disk, the system disk, swap or RAID/LVM\n"
        "member is never wiped."
    ),
}

TEXTS: dict[str, dict[str, str]] = {"nl": _NL, "en": _EN}


def text(language: str, key: str, **values: object) -> str:
    """The text for ``key`` in ``language`` (falling back to Dutch), with values filled in."""
    table = TEXTS.get(language, TEXTS["nl"])
    return table.get(key, TEXTS["nl"][key]).format(**values)
