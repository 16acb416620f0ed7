"""Why the station refuses or cannot do something: a code with values, worded at the edge.

The engine says *what* (a code and its values); the CLI prints the English wording
kept here, and the TUI words the same code in the technician's language
(``station/ui/reason_texts.py``). Nothing matches on the wording.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

ENGLISH: dict[str, str] = {
    # Safety refusals before a wipe (station.safety).
    "holds_root": "{name} holds the running system (/)",
    "holds_boot": "{name} holds {mount_point}",
    "mounted": "{name} is mounted on {mount_point}",
    "swap": "{swap} is in use as swap",
    "raid_member": "{name} is a member of active RAID array {array}",
    "held_by_dm": "{name} is held by device-mapper (LVM/crypt) {holder}",
    "held_by": "{name} is held by {holder}",
    "boot_disk": "{name} is the station's own boot disk",
    "read_only": "{name} is read-only",
    "no_media": "{name} has no media (size 0)",
    "backed_by": "{name} is backed by {backing}: {cause}",
    "backing_unreadable": "{name} is backed by {backing}, which cannot be checked: {error}",
    "busy": "{name} is busy (in use by the kernel or another program)",
    "cannot_open": "{path} cannot be opened: {error}",
    "confirm_serial": (
        "confirmation {typed!r} does not match: type the last four characters of the serial "
        "the station shows for {name}"
    ),
    "confirm_name": (
        "confirmation {typed!r} does not match: type the kernel name the station shows for {name}"
    ),
    "detached": "{name} is no longer attached",
    # Wipe methods that cannot run (station.methods).
    "usb_bridge": (
        "behind a USB bridge: the drive's own erase commands are not trusted through it "
        "(bridges drop or fake them), so only Clear is offered; dock the disk on SATA/NVMe "
        "for Purge"
    ),
    "loop_clear_only": "a loop device has no drive firmware: Clear only",
    "no_purge_for_transport": "no Purge command known for transport {transport}",
    "purge_unknown": "Purge support unknown: {error}",
    "nvme_no_crypto_sanitize": "controller has no crypto-erase sanitize",
    "nvme_no_block_sanitize": "controller has no block-erase sanitize",
    "nvme_format_no_crypto": "format has no crypto erase",
    "nvme_no_format": "Format NVM not supported",
    "ata_no_crypto_scramble": "no CRYPTO SCRAMBLE",
    "ata_no_block_erase": "no BLOCK ERASE",
    "ata_frozen": (
        "the drive's security is frozen by the BIOS: suspend the station and wake it "
        "(or unplug and replug the drive's power while it is running), then try again"
    ),
    "ata_password_set": (
        "a user password is set (drive locked or security enabled): remove it first"
    ),
    "ata_count_expired": "security count expired: power-cycle the drive",
    "ata_security_unsupported": "security feature set not supported",
    "ata_no_enhanced": "no enhanced erase",
    "no_method": "no wipe method is available for this device",
    "method_unavailable": "method {method} is not available: {cause}",
    # Tablets (station.tablets).
    "tablet_not_ready": (
        "tablet {serial} is {state}: enable USB debugging and accept this station's key"
    ),
    "google_account": (
        "a Google account is signed in: remove it first (Settings > Accounts > Google > "
        "Remove account), or the tablet locks itself after the reset (factory reset protection)"
    ),
    # iPads over pymobiledevice3 (station.hw.ios, station.tablets).
    "ipad_no_tool": "pymobiledevice3 is not installed: the iPad gets the guided manual procedure",
    "ipad_not_seen": (
        "the iPad {serial} is not listed by usbmuxd: check the cable and that usbmuxd is running"
    ),
    "ipad_not_trusted": (
        "the iPad {serial} does not trust this station: unlock it, tap 'Trust' and enter its "
        "passcode, then try again"
    ),
    "ipad_no_answer": "{command} did not answer: {error}",
    "find_my_on": (
        "Find My is on (Activation Lock): sign out of the Apple ID first (Settings > [name] > "
        "Sign Out, with its password), or the iPad stays locked to that account after the erase"
    ),
    "find_my_unknown": (
        "the iPad does not say whether Find My is off: use the guided procedure (sign out of "
        "the Apple ID first)"
    ),
    # The guided reset's steps (station.tablets).
    "step_android_accounts": "Remove every account (Settings > Accounts) and any screen lock.",
    "step_android_erase": (
        "Settings > System > Reset options > Erase all data (factory reset) > Erase."
    ),
    "step_android_welcome": (
        "Wait for the restart; confirm the setup wizard ('Welcome'/'Hallo') is shown."
    ),
    "step_apple_sign_out": (
        "Sign out of the Apple ID (Settings > [name] > Sign Out) so Activation Lock is off."
    ),
    "step_apple_erase": (
        "Settings > General > Transfer or Reset iPad > Erase All Content and Settings."
    ),
    "step_apple_hello": "Wait for the restart; confirm the 'Hello' setup screen is shown.",
    "step_ipad_station_erase": (
        "Keep the iPad connected and unlocked: the station asks it to erase all content and "
        "settings (its own cryptographic erase)."
    ),
    "reset_not_confirmed": "the technician did not confirm the reset",
    # Tablet diagnosis findings (station.diagnostics).
    "battery_state_unknown": "battery state unknown",
    "battery_health": "battery health: {health}",
    "battery_worn": "battery holds {percent} % of its design capacity",
    # Why a Clear wipe stopped or did not pass (station.wipe, station.blockio).
    "open_busy": "{path} is busy (mounted, in use, or being wiped)",
    "open_failed": "cannot open {path}: {error}",
    "cancelled": "cancelled by the technician",
    "gone_writing": "device disappeared during write at byte {offset}",
    "gone_reading": "device disappeared during read at byte {offset}",
    "gone_zeroing": "device disappeared during zero-out at byte {offset}",
    "writes_refused": "device stopped accepting writes at byte {offset}",
    "no_data": "device returned no data at byte {offset}",
    "no_zeroout": "{name} does not support kernel zero-out: {error}",
    "zeroout_failed": "zero-out failed at byte {offset}: {error}",
    "not_zero": "verification found data that is not zero or could not be read",
    "hidden_area": (
        "every visible byte was verified zero, but a hidden area (HPA/DCO) was not reached: "
        "restore the native size (hdparm -N p<native> / --dco-restore) and wipe again"
    ),
    "crashed": "crashed: {error}",
    "job_busy": "{device} already has a {kind} job running",
    "message": "{text}",  # a message that has no code yet, passed on as it was said
    # Why a Purge stopped or did not pass (station.purge); a tool's own words stay values.
    "purge_cancelled": "cancelled by the technician before the drive started",
    "no_purge_command": "no Purge command for method {method!r}",
    "tool_failed": "{command} failed ({returncode}): {stderr}",
    "sanitize_unreadable": "cannot read sanitize progress: {error}",
    "sanitize_failed": "sanitize failed",
    "sanitize_ended": "sanitize {state}",
    "gone_sanitizing": "device disappeared during sanitize",
    "gone_purging": "device disappeared during purge",
    "purge_unchanged": "sampled verification found data unchanged by the purge",
    "ata_password_hint": "{cause} (if the drive is now locked, its password is {password!r})",
    # Regions that could not be written or read, or read back wrong (station.blockio).
    "read_error": "read error: {error}",
    "write_error": "write error: {error}",
    "region_not_zero": "not zero",
    "region_unchanged": "unchanged after purge",
    "bad_region": "{cause} at byte {offset} (+{length})",
    # Disk diagnosis findings (station.hw.smart, station.diagnostics).
    "smart_no_status": "no SMART health status",
    "smart_failed": "SMART overall health: FAILED",
    "nvme_critical_warning": "NVMe critical warning {value}",
    "reallocated_sectors": "reallocated sectors: {count}",
    "pending_sectors": "pending sectors: {count}",
    "uncorrectable_sectors": "uncorrectable sectors: {count}",
    "nvme_media_errors": "NVMe media errors: {count}",
    "grown_defects": "grown defects: {count}",
    "nvme_wear": "NVMe wear {percent} % used",
    "ssd_life_left": "SSD life left {percent} %",
    "scan_cannot_read": "cannot read {path}: {error}",
    "smart_unreadable": "SMART could not be read: {error}",
    # Sending the label to the printer (station.printing); lp's own words stay values.
    "print_no_lp": (
        "lp (the CUPS client) is not installed, so the label was not sent to printer {queue}: "
        "install cups-client, or leave label_printer empty"
    ),
    "print_no_answer": "printer {queue} did not get the label: {error}",
    "print_refused": "printer {queue} did not take the label: lp failed ({returncode}): {stderr}",
    # Grading and marking ready (station.grading).
    "cosmetic_worse": "cosmetic {grade} is worse than {limit}",
    "functional_faulty": "functional {grade} ({items} faulty)",
    "battery_unknown": "battery health unknown",
    "battery_worse": "battery {grade} is worse than {limit}",
    "no_charger": "no charger",
    "not_checked": "not checked: {items}",
    "not_graded": "not graded",
    "no_wipe": "no wipe recorded",
    "wipe_not_passed": "a wipe failed or is incomplete: wipe again before marking ready",
    "job_running": "a job is still running",
}


@dataclass(frozen=True)
class Reason:
    """One reason: a code (a key of ``ENGLISH``), its values, and the reason behind it, if any.

    A value ending in ``items`` is a list of checklist item names, joined when worded.
    """

    code: str
    values: tuple[tuple[str, str | tuple[str, ...]], ...] = ()
    cause: Reason | None = None

    def params(self) -> dict[str, str | tuple[str, ...]]:
        """The values by name."""
        return dict(self.values)

    def __str__(self) -> str:
        return word(self, ENGLISH, str)


def reason(code: str, cause: Reason | None = None, **values: str | Iterable[str]) -> Reason:
    """Make a reason; ``code`` must have an English wording (a typo fails at once)."""
    if code not in ENGLISH:
        raise KeyError(f"unknown reason code {code!r}")
    frozen = {k: v if isinstance(v, str) else tuple(v) for k, v in values.items()}
    return Reason(code, tuple(sorted(frozen.items())), cause)


def word(why: Reason, templates: dict[str, str], item_name: Callable[[str], str]) -> str:
    """Word a reason with ``templates`` (English for a missing code), causes worded the same way."""
    values: dict[str, object] = {}
    for key, value in why.values:
        values[key] = ", ".join(map(item_name, value)) if isinstance(value, tuple) else value
    if why.cause is not None:
        values["cause"] = word(why.cause, templates, item_name)
    template = templates.get(why.code) or ENGLISH[why.code]
    return template.format(**values)


def english(reasons: Iterable[Reason | str]) -> list[str]:
    """The English wording of each reason (for the CLI, logs and stored records)."""
    return [str(r) for r in reasons]
