"""Label files the simulated carrier serves: a real (minimal, hand-written)
PDF, ZPL II text and a PNG, each carrying the tracking code. Pure functions."""

import struct
import zlib


def _pdf_escape(text):
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def label_pdf(tracking_code, carrier="USPS", service="", lines=()):
    """A one-page 4x6 in PDF 1.4 whose text shows the carrier, service,
    tracking code and address lines. Offsets in the xref table are computed,
    so that any PDF reader opens it."""
    text_lines = [f"{carrier} {service}".strip(), f"TRACKING # {tracking_code}"]
    text_lines += [str(line) for line in lines if line]
    ops = ["BT", "/F1 14 Tf", "18 TL", "20 400 Td"]
    for line in text_lines:
        ops.append(f"({_pdf_escape(line)}) Tj T*")
    ops.append("ET")
    stream = "\n".join(ops).encode("latin-1", "replace")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 288 432] "
        b"/Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def label_zpl(tracking_code, carrier="USPS", service="", lines=()):
    """ZPL II for a 4x6 thermal label with a Code 128 barcode."""
    parts = ["^XA", "^CI28", f"^FO40,40^A0N,40,40^FD{carrier} {service}^FS"]
    y = 100
    for line in lines:
        if line:
            parts.append(f"^FO40,{y}^A0N,28,28^FD{line}^FS")
            y += 36
    parts += [
        f"^FO40,{y + 20}^BY3^BCN,160,Y,N,N^FD{tracking_code}^FS",
        "^XZ",
    ]
    return ("\n".join(parts) + "\n").encode("utf-8")


def _png_chunk(kind, data):
    chunk = kind + data
    return struct.pack(">I", len(data)) + chunk + struct.pack(">I", zlib.crc32(chunk))


def label_png(width=4, height=6):
    """A small white greyscale PNG (a placeholder image label)."""
    raw = b"".join(b"\x00" + b"\xff" * width for _row in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
        + _png_chunk(b"IDAT", zlib.compress(raw))
        + _png_chunk(b"IEND", b"")
    )


CONTENT_TYPES = {
    "PDF": "application/pdf",
    "ZPL": "application/zpl",
    "PNG": "image/png",
}
EXTENSIONS = {"PDF": "pdf", "ZPL": "zpl", "PNG": "png"}


def render(file_format, tracking_code, carrier, service, lines=()):
    if file_format == "PDF":
        return label_pdf(tracking_code, carrier, service, lines)
    if file_format == "ZPL":
        return label_zpl(tracking_code, carrier, service, lines)
    return label_png()
