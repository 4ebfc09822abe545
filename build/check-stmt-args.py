#!/usr/bin/env python3
"""Every call of a catalogue statement by name gives as many arguments as it takes.

apr_dbd's drivers read as many arguments as the prepared statement has placeholders,
whatever count the caller passes: a call with one too few reads past its array (a crash,
or a stray value written). acp_sa_exec/acp_sa_rows refuse such a call at run time; this
finds it before, at every call site of the module and the staff tool whose statement is
a string literal and whose arguments are ACP_SA_ARGS(...) or ACP_SA_NOARGS (the unit
tests call wrong counts on purpose).

usage: check-stmt-args.py TABLE   (TABLE: what out/stmt-nargs prints)
Prints the mismatches; exit 1 when there is one, or when no call site was checked.
"""
import glob
import re
import sys


def read_table(path):
    table = {}
    with open(path) as f:
        for line in f:
            label, sq, pg = line.split()
            table[label] = (int(sq), int(pg))
    return table


def skip_string(s, i):
    """s[i] is a quote: the index after its closing quote."""
    q = s[i]
    i += 1
    while s[i] != q:
        if s[i] == '\\':
            i += 1
        i += 1
    return i + 1


def split_args(s):
    """The top-level comma-separated arguments of s (the text inside a call's parens)."""
    out, depth, start, i = [], 0, 0, 0
    while i < len(s):
        c = s[i]
        if c in '"\'':
            i = skip_string(s, i)
            continue
        if c in '([{':
            depth += 1
        elif c in ')]}':
            depth -= 1
        elif c == ',' and depth == 0:
            out.append(s[start:i].strip())
            start = i + 1
        i += 1
    out.append(s[start:].strip())
    return out


def call_text(s, i):
    """s[i] is just after '(': the text up to the matching ')'."""
    depth, j = 1, i
    while depth:
        c = s[j]
        if c in '"\'':
            j = skip_string(s, j)
            continue
        if c == '(':
            depth += 1
        elif c == ')':
            depth -= 1
        j += 1
    return s[i:j - 1]


def strip_comments(s):
    out, i = [], 0
    while i < len(s):
        if s.startswith('/*', i):
            j = s.index('*/', i + 2) + 2
            out.append('\n' * s.count('\n', i, j))
            i = j
        elif s.startswith('//', i):
            i = s.find('\n', i)
            i = len(s) if i < 0 else i
        elif s[i] in '"\'':
            j = skip_string(s, i)
            out.append(s[i:j])
            i = j
        else:
            out.append(s[i])
            i += 1
    return ''.join(out)


def main():
    table = read_table(sys.argv[1])
    files = sorted(glob.glob('mod_acme_pay.c') + glob.glob('modules/*/*.c') +
                   glob.glob('admin-tui/*.c'))
    bad, checked = [], 0
    for path in files:
        src = strip_comments(open(path).read())
        for m in re.finditer(r'\bacp_sa_(exec|rows|row|exec_later|exec_commit)\s*\(', src):
            line = src.count('\n', 0, m.start()) + 1
            args = split_args(call_text(src, m.end()))
            if m.group(1) == 'exec_later' and len(args) == 4:
                args.insert(3, None)  # (db, p, label, args): no count of rows
            if len(args) != 5:
                continue  # the definitions themselves
            # the statement: a literal, or literals chosen by a condition (each checked);
            # a label in a variable is checked at run time
            labels = re.findall(r'"([A-Za-z0-9_]+)"', args[2])
            given = args[4]
            if given == 'ACP_SA_NOARGS':
                n = 0
            elif given.startswith('ACP_SA_ARGS(') and given.endswith(')'):
                n = len(split_args(given[len('ACP_SA_ARGS('):-1]))
            else:
                continue  # a count and array built by the caller: checked at run time
            if not labels:
                continue
            for label in labels:
                checked += 1
                if label not in table:
                    bad.append(f'{path}:{line}: {label}: not in the catalogue')
                    continue
                want = [w for w in table[label] if w >= 0]
                if any(w != n for w in want):
                    bad.append(f'{path}:{line}: {label} given {n} arguments, takes '
                               + ' / '.join(str(w) for w in sorted(set(want))))
    for b in bad:
        print('check-stmt-args: ' + b)
    if checked == 0:
        print('check-stmt-args: no call site found (the parser is broken)')
        return 1
    print(f'check-stmt-args: {checked} call sites checked, {len(bad)} wrong')
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
