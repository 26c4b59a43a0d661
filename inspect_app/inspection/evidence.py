"""Evidence files: checked by content, hashed, stored once under INSPECT_DATA_DIR, with a display copy.

Nothing here touches the database. :func:`receive` copies an upload to a temporary file while it
hashes and counts it (refusing it past INSPECT_MAX_UPLOAD_BYTES before reading the rest), decides
the type from the magic bytes and a real Pillow decode (never from the name or the client's MIME
type), reads EXIF DateTimeOriginal and GPS, and writes the original and a downscaled JPEG (EXIF
orientation applied) atomically (temporary file + rename) under ``evidence/<ab>/<sha256>.<ext>``.

Files are written before any database row refers to them and are never deleted on rollback: a
failed transaction leaves at worst an unreferenced file (content-addressed, so reused by the next
upload of the same bytes), never a row pointing at a missing file.
"""
from __future__ import annotations

import hashlib
import math
import os
import tempfile
import threading
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import BinaryIO
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import RequestEntityTooLarge, UnsupportedMediaType

from ..errors import InvalidData

CHUNK = 1 << 16
DEFAULT_MAX_UPLOAD_BYTES = 20 * 1024 * 1024
DEFAULT_DISPLAY_PX = 1600
DISPLAY_QUALITY = 82
# (magic prefix test, Pillow format, MIME type, file extension)
ACCEPTED = {"JPEG": ("image/jpeg", "jpg"), "PNG": ("image/png", "png"), "WEBP": ("image/webp", "webp")}
EXIF_IFD, GPS_IFD = 0x8769, 0x8825
DATETIME_ORIGINAL, OFFSET_TIME_ORIGINAL = 36867, 36881


class EvidenceTooLarge(RequestEntityTooLarge):
    """The file (or the image it decodes to) is over the limit: 413."""

    def __init__(self, message):
        super().__init__(description=str(message))
        self.message = message


class UnsupportedEvidence(UnsupportedMediaType):
    """Not a JPEG, PNG or WebP photo by its content: 415."""

    def __init__(self, message):
        super().__init__(description=str(message))
        self.message = message


@dataclass
class StoredFile:
    sha256: str
    size_bytes: int
    mime: str
    ext: str
    stored_path: str  # relative to INSPECT_DATA_DIR
    thumb_path: str | None
    width: int | None
    height: int | None
    taken_dt: datetime | None
    gps_lat: float | None
    gps_lon: float | None


def data_dir() -> Path:
    return Path(current_app.config["INSPECT_DATA_DIR"])


def max_upload_bytes() -> int:
    return int(current_app.config.get("INSPECT_MAX_UPLOAD_BYTES", DEFAULT_MAX_UPLOAD_BYTES))


def sniff(head: bytes) -> str | None:
    """The Pillow format the magic bytes announce, among the accepted ones; None otherwise."""
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    return None


def _describe_refused(head: bytes):
    """A message for a refused type that tells the inspector what happened."""
    text = head.lstrip()[:256].lower()
    if head.startswith(b"%PDF"):
        return _l("This file is a PDF, not a photo (whatever its name says). Attach photos as JPEG, PNG or WebP.")
    if text.startswith(b"<?xml") or b"<svg" in text:
        return _l("SVG drawings are not accepted as evidence. Attach photos as JPEG, PNG or WebP.")
    if len(head) >= 12 and head[4:8] == b"ftyp" and head[8:12] in (b"heic", b"heix", b"mif1", b"msf1", b"hevc"):
        return _l("HEIC photos are not accepted: set the camera to \"Most compatible\" (JPEG) and take it again.")
    return _l("Only photos in JPEG, PNG or WebP format are accepted.")


def _spool(stream: BinaryIO, limit: int, directory: Path) -> tuple[str, str, int, bytes]:
    """Copy ``stream`` into a temporary file in ``directory``; returns (path, sha256, size, first bytes)."""
    digest = hashlib.sha256()
    size = 0
    head = b""
    fd, path = tempfile.mkstemp(prefix=".upload-", dir=directory)
    try:
        with os.fdopen(fd, "wb") as out:
            while True:
                chunk = stream.read(CHUNK)
                if not chunk:
                    break
                size += len(chunk)
                if size > limit:
                    raise EvidenceTooLarge(_l("The file is larger than %(mb)s MB.", mb=_megabytes(limit)))
                if len(head) < 64:
                    head += chunk[:64 - len(head)]
                digest.update(chunk)
                out.write(chunk)
    except BaseException:
        _unlink(path)
        raise
    return path, digest.hexdigest(), size, head


def _megabytes(limit: int) -> str:
    return f"{limit / (1024 * 1024):g}"


def _unlink(path: str | Path) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def _atomic_move(source: str, target: Path) -> None:
    """Put ``source`` at ``target`` in one rename (same file system); an existing target is the same
    content (content-addressed) and is kept."""
    if target.exists():
        _unlink(source)
        return
    os.chmod(source, 0o640)
    os.replace(source, target)


def _rational(value) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError, ZeroDivisionError):
        return float("nan")
    return number


def _dms(values, ref) -> float | None:
    try:
        degrees, minutes, seconds = (_rational(v) for v in values)
    except (TypeError, ValueError):
        return None
    decimal = degrees + minutes / 60 + seconds / 3600
    if decimal != decimal:  # NaN (a zero denominator)
        return None
    ref = ref.decode("ascii", "replace") if isinstance(ref, bytes) else str(ref or "")
    return -decimal if ref.strip().upper() in ("S", "W") else decimal


def exif_gps(exif) -> tuple[float | None, float | None]:
    """EXIF GPSLatitude/GPSLongitude as signed decimal degrees (WGS-84, as receivers record them)."""
    try:
        gps = exif.get_ifd(GPS_IFD)
    except (KeyError, ValueError, TypeError, OSError):
        return None, None
    if not gps or 2 not in gps or 4 not in gps:
        return None, None
    lat, lon = _dms(gps[2], gps.get(1)), _dms(gps[4], gps.get(3))
    if lat is None or lon is None or not (-90 <= lat <= 90 and -180 <= lon <= 180) or (lat == 0 and lon == 0):
        return None, None
    return round(lat, 7), round(lon, 7)


def exif_taken(exif) -> datetime | None:
    """EXIF DateTimeOriginal in UTC; its OffsetTimeOriginal when recorded, else the deployment's zone."""
    try:
        ifd = exif.get_ifd(EXIF_IFD)
    except (KeyError, ValueError, TypeError, OSError):
        return None
    raw = ifd.get(DATETIME_ORIGINAL)
    if not raw:
        return None
    text = raw.decode("ascii", "replace") if isinstance(raw, bytes) else str(raw)
    try:
        local = datetime.strptime(text.strip().rstrip("\x00")[:19], "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None
    offset = ifd.get(OFFSET_TIME_ORIGINAL)
    zone = None
    if isinstance(offset, str) and len(offset) >= 6 and offset[0] in "+-":
        try:
            hours, minutes = int(offset[1:3]), int(offset[4:6])
            delta = timedelta(hours=hours, minutes=minutes)
            zone = timezone(delta if offset[0] == "+" else -delta)
        except ValueError:
            zone = None
    if zone is None:
        zone = ZoneInfo(current_app.config.get("BABEL_DEFAULT_TIMEZONE", "Asia/Shanghai"))
    return local.replace(tzinfo=zone).astimezone(timezone.utc)


def _max_pixels() -> int:
    from PIL import Image
    return int(current_app.config.get("INSPECT_MAX_IMAGE_PIXELS") or Image.MAX_IMAGE_PIXELS or 89_478_485)


def display_size(width: int, height: int, display_px: int) -> tuple[int, int]:
    """The size of the display copy: the long side at most ``display_px``, the aspect kept."""
    scale = min(1.0, display_px / max(width, height, 1))
    return max(1, math.ceil(width * scale)), max(1, math.ceil(height * scale))


_STRICT_LOCK = threading.Lock()


@contextmanager
def _strict_pillow():
    """Pillow refusing truncated images while we decode evidence.

    WeasyPrint (imported for the notices) sets ``ImageFile.LOAD_TRUNCATED_IMAGES`` for the whole
    process, after which Pillow pads a cut-off photo with grey and reports nothing. The flag is a
    module global, so it is set back under a lock (a notice rendered meanwhile in another thread
    would at worst refuse a truncated image of its own, which it must not contain anyway). Data after
    a JPEG's end marker (motion photos, camera trailers) stays acceptable: only missing data fails.
    """
    from PIL import ImageFile
    with _STRICT_LOCK:
        previous = ImageFile.LOAD_TRUNCATED_IMAGES
        ImageFile.LOAD_TRUNCATED_IMAGES = False
        try:
            yield
        finally:
            ImageFile.LOAD_TRUNCATED_IMAGES = previous


def _decode(path: str, expected: str, display_px: int, display_path: str):
    """Open and decode with Pillow; write the display JPEG. Returns (width, height, taken, lat, lon)."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    too_many = EvidenceTooLarge(_l("The image has too many pixels to be a photo."))
    unreadable = InvalidData({"file": [_l("The file is damaged or not a complete image.")]})
    limit = _max_pixels()
    with warnings.catch_warnings(), _strict_pillow():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(path, formats=[expected]) as image:
                width, height = image.size
                if width * height > limit:
                    raise too_many
                exif = image.getexif()
                orientation = exif.get(0x0112)
                taken, (lat, lon) = exif_taken(exif), exif_gps(exif)
                if image.format == "JPEG":  # decode at 1/2, 1/4 or 1/8 scale when that still covers the display size
                    image.draft("RGB", display_size(width, height, display_px))
                image.load()  # the whole stream is decoded: a truncated or forged file fails here
                shown = ImageOps.exif_transpose(image)
                if shown.mode not in ("RGB", "L"):
                    background = Image.new("RGB", shown.size, "white")
                    rgba = shown.convert("RGBA")
                    background.paste(rgba, mask=rgba.getchannel("A"))
                    shown = background
                shown.thumbnail((display_px, display_px), Image.Resampling.BICUBIC, reducing_gap=2.0)
                shown.save(display_path, "JPEG", quality=DISPLAY_QUALITY)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise too_many from None
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError):
            raise unreadable from None
    if orientation in (5, 6, 7, 8):
        width, height = height, width
    return width, height, taken, lat, lon


def receive(stream: BinaryIO) -> StoredFile:
    """Check, hash and store an uploaded photo (see the module's docstring). Raises EvidenceTooLarge
    (413), UnsupportedEvidence (415) or InvalidData naming ``file`` (422: empty or damaged)."""
    root = data_dir()
    incoming = root / "evidence" / "incoming"
    incoming.mkdir(parents=True, exist_ok=True)
    path, sha256, size, head = _spool(stream, max_upload_bytes(), incoming)
    display_tmp = None
    try:
        if size == 0:
            raise InvalidData({"file": [_l("The file is empty.")]})
        expected = sniff(head)
        if expected is None:
            raise UnsupportedEvidence(_describe_refused(head))
        mime, ext = ACCEPTED[expected]
        display_px = int(current_app.config.get("INSPECT_DISPLAY_PX", DEFAULT_DISPLAY_PX))
        folder = root / "evidence" / sha256[:2]
        folder.mkdir(parents=True, exist_ok=True)
        original = folder / f"{sha256}.{ext}"
        display = folder / f"{sha256}.display.jpg"
        fd, display_tmp = tempfile.mkstemp(prefix=".display-", suffix=".jpg", dir=incoming)
        os.close(fd)
        width, height, taken, lat, lon = _decode(path, expected, display_px, display_tmp)
        _atomic_move(display_tmp, display)
        display_tmp = None
        _atomic_move(path, original)
        path = None
    finally:
        if path is not None:
            _unlink(path)
        if display_tmp is not None:
            _unlink(display_tmp)
    return StoredFile(sha256=sha256, size_bytes=size, mime=mime, ext=ext,
                      stored_path=original.relative_to(root).as_posix(),
                      thumb_path=display.relative_to(root).as_posix(), width=width, height=height,
                      taken_dt=taken, gps_lat=lat, gps_lon=lon)


def absolute_path(relative: str) -> Path:
    """The file behind a stored path, refusing anything outside INSPECT_DATA_DIR."""
    root = data_dir().resolve()
    path = (root / relative).resolve()
    if root not in path.parents:
        raise ValueError(f"{relative!r} is outside the data directory")
    return path


# --------------------------------------------------------------------------------------------
# Signatures: small PNGs drawn on screen, kept in the database with their hash

DEFAULT_MAX_SIGNATURE_BYTES = 512 * 1024
MAX_SIGNATURE_SIDE = 4000


def check_signature_png(data: bytes) -> str:
    """Check a drawn signature by its content (a PNG Pillow decodes, not blank, within size) and return its
    SHA-256. Raises InvalidData naming ``png``, EvidenceTooLarge or UnsupportedEvidence."""
    from PIL import Image, UnidentifiedImageError
    import io

    limit = int(current_app.config.get("INSPECT_MAX_SIGNATURE_BYTES", DEFAULT_MAX_SIGNATURE_BYTES))
    if not data:
        raise InvalidData({"png": [_l("The signature is empty.")]})
    if len(data) > limit:
        raise EvidenceTooLarge(_l("The signature image is larger than %(kb)s KB.", kb=limit // 1024))
    if not data.startswith(b"\x89PNG\r\n\x1a\n"):
        raise UnsupportedEvidence(_l("A signature must be a PNG image."))
    try:
        with warnings.catch_warnings(), _strict_pillow():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=["PNG"]) as image:
                if max(image.size) > MAX_SIGNATURE_SIDE:
                    raise InvalidData({"png": [_l("The signature image is too large.")]})
                image.load()
                if image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info):
                    ink = image.convert("RGBA").getchannel("A").getbbox()
                else:
                    dark = image.convert("L").point(lambda v: 255 if v < 240 else 0)  # ink on a white sheet
                    ink = dark.getbbox()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise InvalidData({"png": [_l("The signature image is too large.")]}) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError):
        raise InvalidData({"png": [_l("The signature image is damaged.")]}) from None
    if ink is None:
        raise InvalidData({"png": [_l("The signature is blank: sign in the box.")]})
    return hashlib.sha256(data).hexdigest()
