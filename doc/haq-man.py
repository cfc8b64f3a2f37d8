#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Generate libhaq's section-3 man pages from the doxygen comments of
include/haq/haq.h.

One page per function, per type (opaque types and callbacks) and per enum
(an enum whose tag is also a function's name is documented on that
function's page), plus libhaq(3) from doc/libhaq.3.in with a generated index
of everything and the constants.

The header has a fixed doc-block layout (see shared/STYLE.md): a /** */
block of @brief, @param, @return and free text right before each
declaration, and /**< */ or /** */ for enum members. This script reads only
that layout; it does not need doxygen. libqb's doxygen2man (Debian package
doxygen2man) was tried first: it makes no pages for types and callbacks,
drops the second and later names of "@param a, b, c" and cannot list errors,
so the pages come from here.

Usage: haq-man.py --header H --errors error.c --overview libhaq.3.in
                  --outdir DIR [--version V] [--list]
With --list it prints the page file names it would write, one a line, and
writes nothing. Warnings (undocumented parameters) go to standard error.
"""

import argparse
import datetime
import os
import re
import sys

MANUAL = "libhaq Programmer's Manual"
ERRNO_RE = re.compile(r"-E[A-Z0-9]+\b")
IDENT = r"[A-Za-z_]\w*"


# ---------------------------------------------------------------- parsing


class Item:
    """One documented declaration of the header."""

    def __init__(self, kind, name, decl, doc, section):
        self.kind = kind  # function, callback, opaque, enum, macro
        self.name = name
        self.decl = decl  # the declaration, comments removed, one line
        self.doc = doc  # parsed doc block (dict)
        self.section = section  # header section title ("Context", ...)
        self.ret = ""  # functions and callbacks: return type
        self.params = []  # [(type text, name)]
        self.members = []  # enums: [(name, value, doc text)]
        self.value = ""  # macros
        self.page = name  # the page that documents it

    def brief(self):
        return self.doc.get("brief", "")


def strip_comment_block(text):
    """The lines of a /** ... */ block without the comment markers."""
    text = re.sub(r"^/\*\*<?", "", text)
    text = re.sub(r"\*/$", "", text)
    lines = []
    for line in text.split("\n"):
        line = re.sub(r"^\s*\*(?!/) ?", "", line)
        lines.append(line.rstrip())
    return lines


def parse_doc(text):
    """Split a doc block into brief, params, return and description."""
    doc = {"brief": "", "params": [], "return": "", "desc": []}
    cur = None  # ("brief"|"param"|"return"|"desc", payload)
    para = []

    def flush():
        nonlocal cur, para
        body = " ".join(s.strip() for s in para if s.strip())
        lines = [s.strip() for s in para if s.strip()]
        if cur is None:
            pass
        elif cur[0] == "brief":
            doc["brief"] = body
        elif cur[0] == "param":
            doc["params"].append((cur[1], body))
        elif cur[0] == "return":
            doc["return"] = "\n".join(lines)
        elif cur[0] == "desc" and body:
            doc["desc"].append(body)
        cur, para = None, []

    for line in strip_comment_block(text):
        m = re.match(r"\s*@(\w+)\s*(.*)$", line)
        if m:
            flush()
            cmd, rest = m.group(1), m.group(2)
            if cmd == "brief":
                cur, para = ("brief", None), [rest]
            elif cmd == "param":
                pm = re.match(r"((?:%s\s*,\s*)*%s)\s*(.*)$" % (IDENT, IDENT), rest)
                names = [n.strip() for n in pm.group(1).split(",")] if pm else []
                cur, para = ("param", names), [pm.group(2) if pm else rest]
            elif cmd in ("return", "returns", "retval"):
                cur, para = ("return", None), [rest]
            elif cmd == "file":
                cur, para = ("file", None), []
            else:
                cur, para = ("desc", None), [line]
            continue
        if not line.strip():
            flush()
            continue
        if cur is None:
            # Text that is not under a command: the brief if none was
            # given yet (one-line /** text */ blocks), else description.
            cur = ("brief", None) if not doc["brief"] else ("desc", None)
            para = []
        para.append(line)
    flush()
    return doc


def squash(text):
    return re.sub(r"\s+", " ", text).strip()


def split_params(text):
    """Split a parameter list at top-level commas: [(type, name)]."""
    out, depth, cur = [], 0, ""
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            out.append(cur)
            cur = ""
        else:
            cur += ch
    out.append(cur)
    params = []
    for p in (squash(x) for x in out):
        if p in ("", "void"):
            continue
        m = re.search(r"\(\s*\*\s*(%s)\s*\)" % IDENT, p)
        if m:  # a function pointer parameter
            params.append((p, m.group(1)))
            continue
        m = re.match(r"^(.*?)(%s)\s*(\[[^\]]*\])?$" % IDENT, p)
        params.append((squash(m.group(1)), m.group(2)))
    return params


def parse_header(path):
    with open(path, encoding="utf-8") as f:
        src = f.read()
    items = []
    section = ""
    pos = 0
    block_re = re.compile(r"/\*\*(?!<).*?\*/", re.S)
    section_re = re.compile(r"/\* -{10,} \*/\s*/\*\s*(.*?)\s*\*/\s*/\* -{10,} \*/")
    while True:
        m = block_re.search(src, pos)
        if not m:
            break
        # Section separators between the previous item and this block.
        for s in section_re.finditer(src, pos, m.start()):
            section = s.group(1)
        block = m.group(0)
        pos = m.end()
        if "@file" in block:
            continue
        rest = src[pos:]
        lead = len(rest) - len(rest.lstrip())
        rest = rest.lstrip()
        doc = parse_doc(block)
        if rest.startswith("#define"):
            end = re.search(r"(?<!\\)\n", rest).end()
            line = rest[:end].replace("\\\n", " ")
            dm = re.match(r"#define\s+(%s)\s+(.*)$" % IDENT, squash(line))
            it = Item("macro", dm.group(1), squash(line), doc, section)
            it.value = dm.group(2)
            items.append(it)
            pos += lead + end
            continue
        if re.match(r"(typedef\s+)?enum\b", rest):
            end = rest.index("}")
            end = rest.index(";", end) + 1
            body = rest[:end]
            em = re.match(r"(?:typedef\s+)?enum\s+(%s)\s*\{(.*)\}\s*(%s)?\s*;" % (IDENT, IDENT),
                          body, re.S)
            it = Item("enum", em.group(1), "", doc, section)
            it.members = parse_enum_body(em.group(2))
            it.decl = "enum %s { %s };" % (it.name, ", ".join(
                "%s = %s" % (n, v) if v else n for n, v, _ in it.members))
            items.append(it)
            pos += lead + end
            continue
        end = rest.index(";") + 1
        decl = squash(rest[:end])
        pos += lead + end
        tm = re.match(r"typedef\s+struct\s+(%s)\s+(%s)\s*;$" % (IDENT, IDENT), decl)
        if tm:
            items.append(Item("opaque", tm.group(2), decl, doc, section))
            continue
        cm = re.match(r"typedef\s+(.*?)\(\s*\*\s*(%s)\s*\)\s*\((.*)\)\s*;$" % IDENT, decl)
        if cm:
            it = Item("callback", cm.group(2), decl, doc, section)
            it.ret = squash(cm.group(1))
            it.params = split_params(cm.group(3))
            items.append(it)
            continue
        fm = re.match(r"(.*?)\b(%s)\s*\((.*)\)\s*;$" % IDENT, decl)
        if fm:
            it = Item("function", fm.group(2), decl, doc, section)
            it.ret = squash(fm.group(1))
            it.params = split_params(fm.group(3))
            items.append(it)
            continue
        sys.exit("haq-man: cannot parse the declaration after a doc block: %s" % decl)
    return items


def parse_enum_body(body):
    """[(name, value, doc)] from an enum body with /** */ or /**< */ docs."""
    members = []
    pending = None  # a /** */ block that precedes the next member
    pos = 0
    tok = re.compile(r"/\*\*<(.*?)\*/|/\*\*(.*?)\*/|/\*.*?\*/|(%s)\s*(?:=\s*([^,/]*?))?\s*(,|$)"
                     % IDENT, re.S)
    while pos < len(body):
        m = tok.search(body, pos)
        if not m:
            break
        pos = m.end()
        if m.group(1) is not None:  # trailing doc of the previous member
            if members:
                n, v, _ = members[-1]
                members[-1] = (n, v, squash(" ".join(strip_comment_block("/**<" + m.group(1) + "*/"))))
        elif m.group(2) is not None:
            pending = squash(" ".join(strip_comment_block("/**" + m.group(2) + "*/")))
        elif m.group(3):
            members.append((m.group(3), squash(m.group(4) or ""), pending or ""))
            pending = None
        if pos == m.start():
            pos += 1
    return members


def parse_errors(path):
    """haq_strerror()'s sentence for each errno name, from error.c."""
    with open(path, encoding="utf-8") as f:
        src = f.read()
    start = src.find("haq_strerror(")
    text = src[start:] if start >= 0 else ""
    out = {}
    for m in re.finditer(r"((?:case\s+E[A-Z0-9]+:\s*)+)return\s+((?:\"(?:[^\"\\]|\\.)*\"\s*)+);",
                         text):
        msg = "".join(re.findall(r"\"((?:[^\"\\]|\\.)*)\"", m.group(2)))
        for code in re.findall(r"E[A-Z0-9]+", m.group(1)):
            out[code] = msg.replace("\\'", "'").replace('\\"', '"')
    return out


# ---------------------------------------------------------------- rendering


def esc(text):
    """Escape plain text for roff."""
    text = text.replace("\\", "\\e").replace("-", "\\-")
    return text


def fmt(text):
    """Escape text and mark up references to libhaq functions and errnos."""
    out = esc(text)
    out = re.sub(r"\b(haq_\w+)\(\)", lambda m: "\\fB%s\\fP()" % m.group(1), out)
    out = re.sub(r"(\\-E[A-Z0-9]+)\b", r"\\fB\1\\fP", out)
    out = re.sub(r"\benum (haq_\w+)", lambda m: "\\fBenum %s\\fP" % m.group(1), out)
    return out


def para(text):
    """A paragraph: a roff line must not start with a dot or quote."""
    lines = []
    for line in text.split("\n"):
        if line.startswith((".", "'")):
            line = "\\&" + line
        lines.append(line)
    return "\n".join(lines)


def proto_lines(prefix, params, suffix, width=72):
    """Render "prefix(params)suffix" in bold with italic parameter names,
    one line if it fits, else wrapped after commas under the parenthesis."""
    head = prefix + "("
    if not params:
        return ["\\fB%s\\fP" % esc(head + "void)" + suffix)]
    pieces = []  # (roff, plain text)
    for i, (ptype, pname) in enumerate(params):
        tail = "," if i < len(params) - 1 else ")" + suffix
        if "(" in ptype:  # a function pointer parameter
            plain = ptype
            roff = esc(ptype).replace(pname, "\\fI%s\\fB" % pname, 1)
        else:
            sep = "" if ptype.endswith("*") else " "
            plain = ptype + sep + pname
            roff = esc(ptype) + sep + "\\fI%s\\fB" % pname
        pieces.append((roff + esc(tail), plain + tail))
    lines = []
    cur_r, cur_p, fresh = esc(head), head, True
    indent = " " * len(head)
    for roff, plain in pieces:
        if not fresh and len(cur_p) + 1 + len(plain) > width:
            lines.append(cur_r)
            cur_r, cur_p, fresh = indent, indent, True
        if not fresh:
            cur_r += " "
            cur_p += " "
        cur_r += roff
        cur_p += plain
        fresh = False
    lines.append(cur_r)
    return ["\\fB%s\\fP" % line for line in lines]


def th(name, version, date):
    return '.TH %s 3 %s "libhaq %s" "%s"\n' % (name.upper().replace("-", "\\-"),
                                                date, version, MANUAL)


def synopsis(item, with_enum=None):
    out = [".SH SYNOPSIS", ".nf", ".B #include <haq/haq.h>", ".PP"]
    if item.kind == "function":
        out += proto_lines(item.ret + ("" if item.ret.endswith("*") else " ") + item.name,
                           item.params, ";")
    elif item.kind == "callback":
        out += proto_lines("typedef %s%s(*%s)" % (item.ret, "" if item.ret.endswith("*") else " ",
                                                  item.name), item.params, ";")
    elif item.kind == "opaque":
        out.append("\\fB%s\\fP" % esc(item.decl))
    if item.kind == "enum" or with_enum is not None:
        en = with_enum if with_enum is not None else item
        if item.kind != "enum":
            out.append(".PP")
        out.append("\\fBenum %s {\\fP" % esc(en.name))
        for i, (n, v, _) in enumerate(en.members):
            comma = "," if i < len(en.members) - 1 else ""
            out.append("\\fB    %s%s%s\\fP" % (esc(n), (" = " + esc(v)) if v else "", comma))
        out.append("\\fB};\\fP")
    out += [".fi", ".PP", "Compile and link with \\fIpkg\\-config \\-\\-cflags \\-\\-libs libhaq\\fP."]
    return out


def param_section(item, warn):
    docs = {}
    for names, text in item.doc["params"]:
        for n in names:
            docs[n] = text
    out = []
    for _, pname in item.params:
        if pname not in docs:
            warn("%s: parameter '%s' is not documented" % (item.name, pname))
            continue
        out += [".TP", ".I %s" % pname, para(fmt(docs[pname]))]
    for n in docs:
        if n not in [p for _, p in item.params]:
            warn("%s: @param '%s' names no parameter" % (item.name, n))
    return ([".SH PARAMETERS"] + out) if out else []


def errors_of(item, by_name, seen=None):
    """[(code, explanation)] from an item's @return text."""
    text = item.doc.get("return", "")
    seen = seen or set()
    codes = []
    m = re.match(r"\s*as (haq_\w+)\(\)", text)
    if m and m.group(1) in by_name and m.group(1) not in seen:
        seen.add(item.name)
        codes = errors_of(by_name[m.group(1)], by_name, seen)
    flat = squash(text)
    found = list(ERRNO_RE.finditer(flat))
    for i, em in enumerate(found):
        code = em.group(0)[1:]
        stop = found[i + 1].start() if i + 1 < len(found) else len(flat)
        expl = flat[em.end():stop]
        expl = re.split(r";|\.\s+(?=[A-Z])", expl)[0]
        expl = expl.strip().strip(",").strip()
        expl = re.sub(r"\.$", "", expl).strip()
        expl = re.sub(r"^\((.*)\)$", r"\1", expl)
        expl = re.sub(r",?\s*or$", "", expl).strip()
        prev = [e for c, e in codes if c == code]
        if not prev:
            codes.append((code, expl))
            continue
        # Inherited from "as haq_x()": keep the place, merge the texts.
        old = prev[0]
        if not expl or expl == old or old.startswith(expl):
            expl = old
        elif old and not expl.startswith(old):
            expl = "%s; or %s" % (old, expl)
        codes = [(c, expl if c == code else e) for c, e in codes]
    return codes


def error_section(item, by_name, strerror):
    codes = errors_of(item, by_name)
    if not codes:
        return []
    out = [".SH ERRORS"]
    for code, expl in codes:
        out += [".TP", ".B \\-%s" % code]
        text = expl or strerror.get(code, "")
        text = (text + ".") if text else ""
        out.append(para(fmt(text)) if text else "See \\fBhaq_strerror\\fP(3).")
    return out


def return_section(item):
    text = item.doc.get("return", "")
    if not text:
        if item.kind == "function" and item.ret == "void":
            return [".SH RETURN VALUE", "None."]
        return []
    out = [".SH RETURN VALUE"]
    lines = text.split("\n")
    body = []
    for line in lines:
        if ERRNO_RE.match(line) and body:
            body.append(".br")
        body.append(para(fmt(squash(line))))
    out.append("\n".join(body))
    return out


def description(item, extra=None):
    out = [".SH DESCRIPTION"]
    brief = item.brief()
    if brief:
        out.append(para(fmt(brief)))
    for d in item.doc["desc"]:
        out += [".PP", para(fmt(d))]
    if extra:
        out += extra
    return out


def refs_in(item):
    """Names of libhaq items the item's text or signature mentions."""
    text = " ".join([item.doc.get("brief", ""), item.doc.get("return", "")]
                    + item.doc["desc"] + [t for _, t in item.doc["params"]]
                    + [m[2] for m in item.members])
    names = set(re.findall(r"\b(haq_\w+)\(\)", text))
    names |= set(re.findall(r"\benum (haq_\w+)", text))
    for ptype, _ in item.params:
        names |= set(re.findall(r"\b(haq_\w+_(?:t|fn))\b", ptype))
    names |= set(re.findall(r"\b(haq_\w+_(?:t|fn))\b", item.ret))
    names.discard(item.name)
    return names


def see_also(item, pages_of, extra=()):
    refs = set()
    for n in refs_in(item) | set(extra):
        page = pages_of.get(n)
        if page and page != item.page:
            refs.add(page)
    refs = sorted(refs)
    return [".SH SEE ALSO", ",\n".join(["\\fBlibhaq\\fP(3)"] + ["\\fB%s\\fP(3)" % esc(r) for r in refs])]


def enum_values(en):
    """The value of each member as written, or as C gives it implicitly."""
    out, nxt = [], 0
    for n, v, _ in en.members:
        if v:
            shown = v
            try:
                nxt = int(v, 0) + 1
            except ValueError:
                nxt = None
        else:
            shown = str(nxt) if nxt is not None else ""
            nxt = nxt + 1 if nxt is not None else None
        out.append(shown)
    return out


def values_section(en, title="VALUES"):
    out = [".SH " + title]
    for (n, v, d), shown in zip(en.members, enum_values(en)):
        out += [".TP", ".B %s" % esc(n) + (" (%s)" % esc(shown) if shown else "")]
        out.append(para(fmt(d)) if d else "")
    return [line for line in out if line != ""]


def users_of(typename, items):
    """Functions whose signature mentions a type."""
    out = []
    for it in items:
        if it.kind != "function":
            continue
        sig = it.ret + " " + " ".join(t for t, _ in it.params)
        if re.search(r"\b%s\b" % re.escape(typename), sig):
            out.append(it)
    return out


def render(item, items, by_name, pages_of, strerror, version, date, warn):
    out = [".\\\" Generated by doc/haq-man.py from include/haq/haq.h: do not edit.",
           th(item.page, version, date).rstrip("\n"),
           ".SH NAME",
           "%s \\- %s" % (esc(item.page), fmt(re.sub(r"\.$", "", item.brief()) or item.page))]
    extra_see = []
    if item.kind == "function":
        clash = [e for e in items if e.kind == "enum" and e.name == item.name]
        out += synopsis(item, clash[0] if clash else None)
        out += description(item)
        out += param_section(item, warn)
        if clash:
            out += values_section(clash[0], "VALUES OF enum " + esc(item.name).upper())
        out += return_section(item)
        out += error_section(item, by_name, strerror)
    elif item.kind == "callback":
        out += synopsis(item)
        setters = users_of(item.name, items)
        extra = []
        if setters:
            extra = [".PP", "A callback of this type is set with " + ", ".join(
                "\\fB%s\\fP(3)" % esc(s.name) for s in setters) + "."]
            extra_see = [s.name for s in setters]
        out += description(item, extra)
        out += param_section(item, warn)
    elif item.kind == "opaque":
        out += synopsis(item)
        fns = users_of(item.name, items)
        extra = [".PP", "The type is opaque: it is only ever handled through pointers "
                 "given out and taken by the functions below."]
        out += description(item, extra)
        if fns:
            out.append(".SH FUNCTIONS")
            for f in fns:
                out += [".TP", "\\fB%s\\fP(3)" % esc(f.name), fmt(f.brief())]
    elif item.kind == "enum":
        out += synopsis(item)
        out += description(item)
        out += values_section(item)
    out += see_also(item, pages_of, extra_see)
    return "\n".join(out) + "\n"


def render_overview(template, items, pages_of, version, date):
    with open(template, encoding="utf-8") as f:
        text = f.read()
    idx = []
    sections = []
    for it in items:
        if it.kind == "function" and it.section not in sections:
            sections.append(it.section)
    idx.append(".SH FUNCTIONS")
    for sec in sections:
        idx.append(".SS %s" % esc(sec or "Library"))
        for it in items:
            if it.kind == "function" and it.section == sec:
                idx += [".TP", "\\fB%s\\fP(3)" % esc(it.name), fmt(it.brief())]
    for kind, title in (("opaque", "TYPES"), ("callback", "CALLBACKS"), ("enum", "ENUMERATIONS")):
        idx.append(".SH " + title)
        for it in items:
            if it.kind == kind:
                label = ("enum " if kind == "enum" else "") + it.name
                idx += [".TP", "\\fB%s\\fP, see \\fB%s\\fP(3)" % (esc(label), esc(it.page)),
                        fmt(it.brief())]
    idx.append(".SH CONSTANTS")
    for it in items:
        if it.kind == "macro":
            idx += [".TP", "\\fB%s\\fP = %s" % (esc(it.name), esc(it.value)), fmt(it.brief())]
    lines = text.split("\n")
    if lines.count("@HAQ_INDEX@") != 1:
        sys.exit("haq-man: %s needs one line that is exactly @HAQ_INDEX@" % template)
    text = "\n".join("\n".join(idx) if line == "@HAQ_INDEX@" else line for line in lines)
    text = text.replace("@VERSION@", version).replace("@DATE@", date)
    return text


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--header", required=True)
    ap.add_argument("--errors", required=True)
    ap.add_argument("--overview", required=True)
    ap.add_argument("--outdir", required=True)
    ap.add_argument("--version", default="0")
    ap.add_argument("--list", action="store_true")
    args = ap.parse_args()

    items = parse_header(args.header)
    by_name = {it.name: it for it in items}
    functions = {it.name for it in items if it.kind == "function"}
    for it in items:
        if it.kind == "enum" and it.name in functions:
            it.page = it.name  # documented on the function's page
    pages_of = {it.name: it.page for it in items if it.kind != "macro"}
    pages = []
    for it in items:
        if it.kind == "macro":
            continue
        if it.kind == "enum" and it.name in functions:
            continue
        pages.append(it)
    names = ["libhaq.3"] + ["%s.3" % it.page for it in pages]
    dupes = {n for n in names if names.count(n) > 1}
    if dupes:
        sys.exit("haq-man: two items would share the page(s) %s" % ", ".join(sorted(dupes)))
    if args.list:
        print("\n".join(sorted(names)))
        return 0

    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    when = int(epoch) if epoch else int(os.stat(args.header).st_mtime)
    date = datetime.datetime.fromtimestamp(when, datetime.timezone.utc).strftime("%Y-%m-%d")
    strerror = parse_errors(args.errors)
    warnings = []
    os.makedirs(args.outdir, exist_ok=True)
    # The directory is ours: pages of items the header no longer has go.
    for old in os.listdir(args.outdir):
        if old.endswith(".3") and old not in names:
            os.unlink(os.path.join(args.outdir, old))
    for it in pages:
        page = render(it, items, by_name, pages_of, strerror, args.version, date, warnings.append)
        write(os.path.join(args.outdir, it.page + ".3"), page)
    write(os.path.join(args.outdir, "libhaq.3"),
          render_overview(args.overview, items, pages_of, args.version, date))
    for w in warnings:
        print("haq-man: warning: %s" % w, file=sys.stderr)
    return 0


def write(path, text):
    """Write atomically: a page is whole or absent."""
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


if __name__ == "__main__":
    sys.exit(main())
