"""The engine's reasons (``station.reasons``) worded for the technician: Dutch, or English."""

from __future__ import annotations

from station.errors import SafetyRefusal, StationError
from station.reasons import ENGLISH, Reason, word
from station.ui.i18n import TEXTS

DUTCH: dict[str, str] = {
    "holds_root": "{name} bevat het draaiende systeem (/)",
    "holds_boot": "{name} bevat {mount_point}",
    "mounted": "{name} is gekoppeld op {mount_point}",
    "swap": "{swap} is in gebruik als swap",
    "raid_member": "{name} is lid van de actieve RAID-array {array}",
    "held_by_dm": "{name} wordt vastgehouden door device-mapper (LVM/crypt) {holder}",
    "held_by": "{name} wordt vastgehouden door {holder}",
    "boot_disk": "{name} is de opstartschijf van het station zelf",
    "read_only": "{name} is alleen-lezen",
    "no_media": "{name} heeft geen medium (grootte 0)",
    "backed_by": "{name} draait op {backing}: {cause}",
    "backing_unreadable": "{name} draait op {backing}, dat niet te controleren is: {error}",
    "busy": "{name} is bezet (in gebruik door de kernel of een ander programma)",
    "cannot_open": "{path} kan niet geopend worden: {error}",
    "confirm_serial": (
        "bevestiging {typed!r} klopt niet: typ de laatste vier tekens van het serienummer "
        "dat het station voor {name} toont"
    ),
    "confirm_name": (
        "bevestiging {typed!r} klopt niet: typ de kernelnaam die het station voor {name} toont"
    ),
    "detached": "{name} is niet meer aangesloten",
    "usb_bridge": (
        "achter een USB-brug: de eigen wiscommando's van de schijf zijn daarlangs niet te "
        "vertrouwen (bruggen laten ze vallen of doen alsof), dus alleen Clear wordt aangeboden; "
        "sluit de schijf via SATA/NVMe aan voor Purge"
    ),
    "loop_clear_only": "een loop-apparaat heeft geen schijffirmware: alleen Clear",
    "no_purge_for_transport": "geen Purge-commando gekend voor aansluiting {transport}",
    "purge_unknown": "ondersteuning voor Purge onbekend: {error}",
    "nvme_no_crypto_sanitize": "de controller kent geen sanitize met crypto-wissing",
    "nvme_no_block_sanitize": "de controller kent geen sanitize met blokwissing",
    "nvme_format_no_crypto": "formatteren kent geen crypto-wissing",
    "nvme_no_format": "Format NVM wordt niet ondersteund",
    "ata_no_crypto_scramble": "geen CRYPTO SCRAMBLE",
    "ata_no_block_erase": "geen BLOCK ERASE",
    "ata_frozen": (
        "de beveiliging van de schijf is door het BIOS bevroren: zet het station in slaap en "
        "wek het (of haal de stroom van de schijf eraf en sluit ze terwijl het station draait "
        "weer aan), en probeer opnieuw"
    ),
    "ata_password_set": (
        "er is een gebruikerswachtwoord ingesteld (schijf vergrendeld of beveiliging aan): "
        "verwijder het eerst"
    ),
    "ata_count_expired": "beveiligingsteller verlopen: zet de schijf uit en weer aan",
    "ata_security_unsupported": "beveiligingsfuncties worden niet ondersteund",
    "ata_no_enhanced": "geen uitgebreide wissing (enhanced erase)",
    "no_method": "geen wismethode beschikbaar voor dit toestel",
    "method_unavailable": "methode {method} is niet beschikbaar: {cause}",
    "tablet_not_ready": (
        "tablet {serial} is {state}: zet USB-foutopsporing aan en aanvaard de sleutel van "
        "dit station"
    ),
    "google_account": (
        "er is een Google-account aangemeld: verwijder het eerst (Instellingen > Accounts > "
        "Google > Account verwijderen), anders vergrendelt de tablet zich na de reset "
        "(bescherming bij fabrieksreset)"
    ),
    "ipad_no_tool": (
        "pymobiledevice3 is niet geïnstalleerd: de iPad krijgt de begeleide handmatige procedure"
    ),
    "ipad_not_seen": (
        "de iPad {serial} staat niet in de lijst van usbmuxd: controleer de kabel en of usbmuxd "
        "draait"
    ),
    "ipad_not_trusted": (
        "de iPad {serial} vertrouwt dit station niet: ontgrendel hem, tik op 'Vertrouw' en voer "
        "de toegangscode in, en probeer opnieuw"
    ),
    "ipad_no_answer": "{command} gaf geen antwoord: {error}",
    "find_my_on": (
        "Zoek mijn staat aan (Activeringsslot): meld eerst af bij de Apple ID (Instellingen > "
        "[naam] > Log uit, met het wachtwoord), anders blijft de iPad na het wissen aan dat "
        "account vergrendeld"
    ),
    "find_my_unknown": (
        "de iPad zegt niet of Zoek mijn uit staat: volg de begeleide procedure (meld eerst af "
        "bij de Apple ID)"
    ),
    "step_android_accounts": (
        "Verwijder elk account (Instellingen > Accounts) en elke schermvergrendeling."
    ),
    "step_android_erase": (
        "Instellingen > Systeem > Opties voor resetten > Alle gegevens wissen "
        "(fabrieksinstellingen) > Wissen."
    ),
    "step_android_welcome": (
        "Wacht op de herstart; controleer dat de installatiewizard ('Welcome'/'Hallo') verschijnt."
    ),
    "step_apple_sign_out": (
        "Meld je af bij de Apple ID (Instellingen > [naam] > Log uit) zodat "
        "Activeringsslot uit staat."
    ),
    "step_apple_erase": (
        "Instellingen > Algemeen > Zet over of stel iPad opnieuw in > Wis alle inhoud en "
        "instellingen."
    ),
    "step_apple_hello": "Wacht op de herstart; controleer dat het scherm 'Hallo' verschijnt.",
    "step_ipad_station_erase": (
        "Houd de iPad aangesloten en ontgrendeld: het station vraagt hem alle inhoud en "
        "instellingen te wissen (zijn eigen cryptografische wissing)."
    ),
    "reset_not_confirmed": "de technicus heeft de reset niet bevestigd",
    "battery_state_unknown": "batterijtoestand onbekend",
    "battery_health": "batterijgezondheid: {health}",
    "battery_worn": "de batterij houdt nog {percent} % van haar oorspronkelijke capaciteit",
    "open_busy": "{path} is bezet (gekoppeld, in gebruik of al aan het wissen)",
    "open_failed": "{path} kan niet geopend worden: {error}",
    "cancelled": "geannuleerd door de technicus",
    "gone_writing": "toestel verdwenen tijdens het schrijven bij byte {offset}",
    "gone_reading": "toestel verdwenen tijdens het lezen bij byte {offset}",
    "gone_zeroing": "toestel verdwenen tijdens het nullen (zero-out) bij byte {offset}",
    "writes_refused": "toestel weigert nog te schrijven bij byte {offset}",
    "no_data": "toestel gaf geen gegevens bij byte {offset}",
    "no_zeroout": "{name} ondersteunt geen kernel-nulling (zero-out): {error}",
    "zeroout_failed": "nullen (zero-out) mislukt bij byte {offset}: {error}",
    "not_zero": "de controle vond gegevens die niet nul zijn of niet te lezen waren",
    "hidden_area": (
        "elke zichtbare byte is als nul gecontroleerd, maar een verborgen gebied (HPA/DCO) "
        "is niet bereikt: herstel de oorspronkelijke grootte (hdparm -N p<native> / "
        "--dco-restore) en wis opnieuw"
    ),
    "crashed": "vastgelopen: {error}",
    "job_busy": "op {device} loopt al een taak ({kind})",
    "message": "{text}",
    "purge_cancelled": "geannuleerd door de technicus voor de schijf begon",
    "no_purge_command": "geen Purge-commando voor methode {method!r}",
    "tool_failed": "{command} mislukt ({returncode}): {stderr}",
    "sanitize_unreadable": "de voortgang van de sanitize is niet te lezen: {error}",
    "sanitize_failed": "sanitize mislukt",
    "sanitize_ended": "sanitize eindigde als: {state}",
    "gone_sanitizing": "toestel verdwenen tijdens de sanitize",
    "gone_purging": "toestel verdwenen tijdens de Purge",
    "purge_unchanged": "de steekproefcontrole vond gegevens die de Purge niet veranderd heeft",
    "ata_password_hint": (
        "{cause} (is de schijf nu vergrendeld, dan is het wachtwoord {password!r})"
    ),
    "read_error": "leesfout: {error}",
    "write_error": "schrijffout: {error}",
    "region_not_zero": "niet nul",
    "region_unchanged": "onveranderd na de Purge",
    "bad_region": "{cause} bij byte {offset} (+{length})",
    "smart_no_status": "geen SMART-gezondheidsstatus",
    "smart_failed": "SMART-gezondheid: AFGEKEURD",
    "nvme_critical_warning": "kritieke NVMe-waarschuwing {value}",
    "reallocated_sectors": "vervangen sectoren: {count}",
    "pending_sectors": "wachtende sectoren: {count}",
    "uncorrectable_sectors": "onherstelbare sectoren: {count}",
    "nvme_media_errors": "NVMe-mediafouten: {count}",
    "grown_defects": "bijgekomen defecten: {count}",
    "nvme_wear": "NVMe-slijtage {percent} % gebruikt",
    "ssd_life_left": "resterende SSD-levensduur {percent} %",
    "scan_cannot_read": "{path} is niet te lezen: {error}",
    "smart_unreadable": "SMART is niet te lezen: {error}",
    "print_no_lp": (
        "lp (de CUPS-client) is niet geïnstalleerd, dus het label is niet naar printer {queue} "
        "gestuurd: installeer cups-client, of laat label_printer leeg"
    ),
    "print_no_answer": "printer {queue} kreeg het label niet: {error}",
    "print_refused": (
        "printer {queue} nam het label niet aan: lp mislukt ({returncode}): {stderr}"
    ),
    "cosmetic_worse": "uiterlijk {grade} is slechter dan {limit}",
    "functional_faulty": "werking {grade} ({items} defect)",
    "battery_unknown": "batterijgezondheid onbekend",
    "battery_worse": "batterij {grade} is slechter dan {limit}",
    "no_charger": "geen lader",
    "not_checked": "niet nagekeken: {items}",
    "not_graded": "niet gegradeerd",
    "no_wipe": "geen wissing vastgelegd",
    "wipe_not_passed": (
        "een wissing is mislukt of onvolledig: wis opnieuw voor je het toestel klaar markeert"
    ),
    "job_running": "er loopt nog een taak",
}

_TEMPLATES = {"nl": DUTCH, "en": ENGLISH}


def say(language: str, why: Reason | str | Exception) -> str:
    """A reason in ``language`` (Dutch by default); checklist items by their names there.

    An error is worded by its code (a refusal: every reason); one without a code, or one
    not the station's own (``OSError``...), is shown as it was said.
    """
    if isinstance(why, SafetyRefusal):
        return "; ".join(say(language, r) for r in why.refusals)
    if isinstance(why, Exception):
        why = why.reason if isinstance(why, StationError) and why.reason else str(why)
    if isinstance(why, str):
        return why  # already worded (a text from the UI itself)
    table = TEXTS.get(language, TEXTS["nl"])

    def item(name: str) -> str:
        return table.get(f"item_{name}", name).lower()

    return word(why, _TEMPLATES.get(language, DUTCH), item)
