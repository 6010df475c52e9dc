# conf2md.awk: the key reference of floodgate.conf(5), generated from the
# example configuration (deploy/floodgate.conf), so the manual lists exactly
# the keys the example documents. Each key becomes "**path/key** = default"
# followed by its comments (the ones above it and the one on its line);
# section and hostgroup headings become subsections. Keys shown commented out
# in an example block ("#     key = value" one level deeper) are listed too.
#
#   awk -f docs/man/conf2md.awk deploy/floodgate.conf

function flush_text() {
    if (text != "") { print text; print ""; text = "" }
}
function md(s) { gsub(/\*/, "\\*", s); gsub(/_/, "\\_", s); gsub(/</, "\\<", s); return s }
function item(path, rest, example,    val, cmt, q) {
    if (path in seen) { pending = ""; return }
    seen[path] = 1
    cmt = ""
    if (rest ~ /^"/) {
        q = index(substr(rest, 2), "\"")
        val = substr(rest, 1, q + 1); rest = substr(rest, q + 2)
    } else {
        val = rest; sub(/[ \t].*$/, "", val); rest = substr(rest, length(val) + 1)
    }
    if (match(rest, /#/)) cmt = substr(rest, RSTART + 1)
    gsub(/^[ \t]+|[ \t]+$/, "", cmt)
    if (val == "\"\"") val = "\"\" (empty)"
    if (example && cmt == "" && pending == "") cmt = "no default; example value shown"
    print "**" md(path) "** = `" val "`"
    printf ":   "
    if (pending != "") printf "%s ", pending
    print (cmt != "" ? md(cmt) : "")
    print ""
    pending = ""
}
BEGIN { section = ""; pending = ""; text = "" }
/^[a-z]/ {                                  # a section
    flush_text()
    section = $1; grp = ""; pending = ""
    print "## " section; print ""
    next
}
section == "" { next }                      # the file's header comment
/^ *$/ { next }
{
    line = $0
    match(line, /^ */); depth = RLENGTH / 4
    body = substr(line, RLENGTH + 1)
}
body ~ /^#/ {                               # a comment line
    c = body; sub(/^# ?/, "", c)
    if (match(c, /^ *[a-z_0-9]+ = /) && depth == 1 && grp != "") {
        # an example key, commented out, inside an example block
        k = c; sub(/^ */, "", k); sub(/ = .*/, "", k)
        r = c; sub(/^ *[a-z_0-9]+ = /, "", r)
        flush_text()
        item(section "/NAME/" k, r, 1)
        next
    }
    if (match(c, /^[a-z_0-9]+$/) && depth == 1 && section == "hostgroup") {
        grp = c                            # "# big_customers": an example group
        print "### " section " NAME (any other group)"; print ""
        if (pending != "") { print pending; print ""; pending = "" }
        next
    }
    pending = pending (pending != "" ? " " : "") md(c)
    next
}
body ~ /^[a-z_0-9]+ *= / {                  # a key
    k = body; sub(/ *=.*/, "", k)
    r = body; sub(/^[a-z_0-9]+ *= */, "", r)
    path = (depth == 2 && section == "hostgroup") ? section "/NAME/" k : \
           (depth == 2 ? section "/" grp "/" k : section "/" k)
    item(path, r, 0)
    next
}
body ~ /^[a-z_0-9]+$/ {                     # a subsection (a hostgroup)
    grp = body
    print "### " section " " grp; print ""
    if (pending != "") { print pending; print ""; pending = "" }
    next
}
