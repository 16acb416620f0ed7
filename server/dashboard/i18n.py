"""Dashboard wording in Dutch (Flemish, the default) and English, and Brussels-time dates."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime

from server.timeutil import BRUSSELS

LANGUAGES = ("nl", "en")

# key -> (Dutch, English). Keys stay English so templates read naturally.
_TEXTS: dict[str, tuple[str, str]] = {
    "app_name": ("Digibank hub", "Digibank hub"),
    "skip": ("Naar de inhoud", "Skip to content"),
    "nav": ("Hoofdmenu", "Main menu"),
    "overview": ("Overzicht", "Overview"),
    "flags": ("Meldingen", "Flags"),
    "loans": ("Uitleningen", "Loans"),
    "digipunten": ("Digipunten", "Digipunten"),
    "logout": ("Afmelden", "Log out"),
    "login": ("Aanmelden", "Log in"),
    "username": ("Gebruikersnaam", "User name"),
    "password": ("Wachtwoord", "Password"),
    "login_failed": ("Gebruikersnaam of wachtwoord klopt niet.", "Wrong user name or password."),
    "too_many": ("Te veel mislukte pogingen; probeer later opnieuw.", "Too many failed attempts."),
    "csrf_failed": (
        "Het formulier is verlopen of ongeldig. Laad de pagina opnieuw.",
        "The form expired or is invalid. Reload the page.",
    ),
    "language": ("Taal", "Language"),
    "signed_in_as": ("Aangemeld als", "Signed in as"),
    "updated": ("Bijgewerkt", "Updated"),
    "devices_by_state": ("Toestellen per status", "Devices by state"),
    "devices_by_location": ("Toestellen per locatie", "Devices by location"),
    "open_flags": ("Open meldingen", "Open flags"),
    "repair": ("Herstelling", "Repair"),
    "return": ("Terugbrengen", "Return"),
    "loans_overdue": ("Uitleningen te laat", "Loans overdue"),
    "due_this_week": ("Terug deze week", "Due this week"),
    "silent_on_loan": ("Stil tijdens uitlening", "Silent while on loan"),
    "reach": ("Bereik per digibank", "Reach per digibank"),
    "adults_reached": ("volwassenen bereikt", "adults reached"),
    "target": ("doel", "target"),
    "ready_stock": ("Klaar voor uitlening per digipunt", "Ready stock per digipunt"),
    "total": ("Totaal", "Total"),
    "hub": ("Hub", "Hub"),
    "state": ("Status", "State"),
    "location": ("Locatie", "Location"),
    "municipality": ("Gemeente", "Municipality"),
    "digibank": ("Digibank", "Digibank"),
    "kind": ("Soort", "Kind"),
    "reason": ("Reden", "Reason"),
    "severity": ("Ernst", "Severity"),
    "status": ("Stand", "Status"),
    "device": ("Toestel", "Device"),
    "opened": ("Geopend", "Opened"),
    "evidence": ("Gegevens", "Evidence"),
    "note": ("Notitie", "Note"),
    "acknowledge": ("Bevestigen", "Acknowledge"),
    "resolve": ("Afhandelen", "Resolve"),
    "filter": ("Filteren", "Filter"),
    "all": ("Alle", "All"),
    "none_found": ("Niets gevonden.", "Nothing found."),
    "shown_of": ("van", "of"),
    "pages": ("Pagina's", "Pages"),
    "previous": ("Vorige", "Previous"),
    "next": ("Volgende", "Next"),
    "identity": ("Identiteit", "Identity"),
    "asset_tag": ("Inventarisnummer", "Asset tag"),
    "make_model": ("Merk en model", "Make and model"),
    "serial": ("Serienummer", "Serial number"),
    "grade": ("Klasse", "Grade"),
    "last_seen": ("Laatst gezien", "Last seen"),
    "never": ("nooit", "never"),
    "current_loan": ("Huidige uitlening", "Current loan"),
    "no_loan": ("Niet uitgeleend.", "Not on loan."),
    "timeline": ("Tijdlijn", "Timeline"),
    "health_history": ("Gezondheid", "Health history"),
    "battery_health": ("Batterijgezondheid (%)", "Battery health (%)"),
    "battery_charge": ("Batterijlading (%)", "Battery charge (%)"),
    "disk_wear": ("Schijfslijtage (%)", "Disk wear (%)"),
    "free_space": ("Vrije ruimte (%)", "Free space (%)"),
    "temperature": ("Temperatuur (°C)", "Temperature (°C)"),
    "no_data": ("Geen gegevens.", "No data."),
    "certificate": ("Certificaat", "Certificate"),
    "download": ("Downloaden", "Download"),
    "due": ("Terug op", "Due"),
    "started": ("Begonnen", "Started"),
    "borrower": ("Ontlener", "Borrower"),
    "adult": ("volwassene", "adult"),
    "minor": ("minderjarige", "minor"),
    "overdue": ("te laat", "overdue"),
    "days": ("dagen", "days"),
    "actions": ("Acties", "Actions"),
    "return_action": ("Terugnemen", "Return"),
    "extend": ("Verlengen", "Extend"),
    "new_due_date": ("Nieuwe datum", "New due date"),
    "condition": ("Toestand", "Condition"),
    "return_location": ("Teruggebracht naar", "Returned to"),
    "done": ("Gelukt.", "Done."),
    "on_loan": ("Uitgeleend", "On loan"),
    "in_stock": ("In voorraad", "In stock"),
    "exports": ("Exporten", "Exports"),
    "export_reach": ("Bereik (CSV)", "Reach (CSV)"),
    "export_devices": ("Toestellen (CSV)", "Devices (CSV)"),
    "export_loans": ("Uitleningen, gepseudonimiseerd (CSV)", "Loans, pseudonymous (CSV)"),
    "not_found": ("Niet gevonden.", "Not found."),
    "forbidden": ("Dat mag u niet doen.", "You may not do that."),
    "error": ("Fout", "Error"),
    "search_tag": ("Zoek inventarisnummer", "Search asset tag"),
    "extended": ("keer verlengd", "times extended"),
    "st_intake": ("Intake", "Intake"),
    "st_refurbishing": ("Opknappen", "Refurbishing"),
    "st_repair": ("Herstelling", "Repair"),
    "st_ready": ("Klaar", "Ready"),
    "st_on_loan": ("Uitgeleend", "On loan"),
    "st_returned": ("Teruggebracht", "Returned"),
    "st_retired": ("Afgevoerd", "Retired"),
    "fs_open": ("open", "open"),
    "fs_acknowledged": ("bevestigd", "acknowledged"),
    "fs_resolved": ("afgehandeld", "resolved"),
    "sev_info": ("info", "info"),
    "sev_warning": ("waarschuwing", "warning"),
    "sev_critical": ("kritiek", "critical"),
    "ev_transition": ("Statuswijziging", "State change"),
    "ev_diagnostics": ("Diagnose", "Diagnostics"),
    "ev_wipe": ("Wissing", "Wipe"),
    "ev_condition": ("Toestand vastgelegd", "Condition recorded"),
    "ev_loan": ("Uitgeleend", "Lent"),
    "ev_loan_return": ("Teruggebracht", "Returned"),
    "ev_flag": ("Melding", "Flag"),
    "ev_event": ("Gebeurtenis", "Event"),
    "ev_intake": ("Intake", "Intake"),
    "passed": ("geslaagd", "passed"),
    "failed": ("mislukt", "failed"),
    "incomplete": ("onvolledig", "incomplete"),
}


def translator(lang: str) -> Callable[[str], str]:
    """A function giving the text for a key in `lang` (the key itself if unknown)."""
    index = 1 if lang == "en" else 0

    def t(key: str) -> str:
        pair = _TEXTS.get(key)
        return pair[index] if pair else key

    return t


def pick_language(value: str | None, default: str) -> str:
    """`value` if it is a supported language, else `default`."""
    return value if value in LANGUAGES else default


_MONTHS_EN = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def format_date(value: date | datetime | None, lang: str) -> str:
    """A date as Flemish `27/11/2026` or English `27 Nov 2026` (datetimes in Brussels)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.astimezone(BRUSSELS)
    # Integer formatting: strftime costs several times more, and long tables call this a lot.
    if lang == "en":
        return f"{value.day} {_MONTHS_EN[value.month - 1]} {value.year}"
    return f"{value.day:02d}/{value.month:02d}/{value.year:04d}"


def format_datetime(value: datetime | None, lang: str) -> str:
    """A moment in Brussels time, date then hours and minutes."""
    if value is None:
        return ""
    local = value.astimezone(BRUSSELS)
    return f"{format_date(local.date(), lang)} {local.hour:02d}:{local.minute:02d}"


def format_number(value: float | int | None, lang: str, digits: int = 0) -> str:
    """A number with the language's separators (Dutch: 1.234,5; English: 1,234.5)."""
    if value is None:
        return "–"
    text = f"{value:,.{digits}f}"
    if lang == "nl":
        text = text.replace(",", "_").replace(".", ",").replace("_", ".")
    return text
