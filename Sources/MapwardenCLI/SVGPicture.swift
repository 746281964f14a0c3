import Foundation

/// A picture of the window(s) in SVG: the leaked ranges (per process), the
/// free reserved space, a scale and labels.
///
/// A 1 TiB window with a few 4 KiB mappings cannot be drawn to one scale, so
/// each window gets two bars: an overview drawn to scale (where every leaked
/// range is marked, at least one pixel wide), and a detail bar where the
/// leaked ranges are grouped (ranges less than 1 MiB apart form a group,
/// drawn to its own scale) and the free gaps between groups are shortened,
/// with their sizes written on them.
struct SVGPicture {
    var merged: MergedReport

    let width = 1100.0
    let margin = 20.0
    let laneLabel = 90.0
    let laneHeight = 24.0

    struct Piece {
        var start: UInt64
        var end: UInt64
        var isGap: Bool
        var x = 0.0
        var w = 0.0
    }

    static func escape(_ s: String) -> String {
        var out = ""
        for ch in s.unicodeScalars {
            switch ch {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            default:
                // XML 1.0 allows tab, newline, carriage return and >= 0x20 only.
                if ch.value < 0x20 && ch != "\t" && ch != "\n" && ch != "\r" { out += "?" } else { out.unicodeScalars.append(ch) }
            }
        }
        return out
    }

    static func num(_ v: Double) -> String { String(format: "%.2f", v) }

    func render() -> String {
        let windows = merged.windows
        var body: [String] = []
        var y = margin
        let m = merged
        body.append(text(margin, y + 14, "mapwarden: \(Fmt.count(m.leakedMappings, "leaked mapping")) (\(Fmt.bytes(m.leakedBytes))) in \(Fmt.count(m.sources.count, "report")), \(m.inheritedMappings) inherited, \(m.suppressedMappings) suppressed", cls: "title"))
        y += 30
        let allPlaced = m.groups.flatMap { g in g.leaks.map { (g, $0) } }
        var drawn = 0
        for (i, w) in windows.enumerated() {
            let inside = allPlaced.filter { $0.1.window == i }
            drawn += inside.count
            let (svg, height) = windowPanel(w.window, leaks: inside, top: y)
            body.append(svg)
            y += height + 20
        }
        if windows.isEmpty {
            body.append(text(margin, y + 14, "The reports name no window.", cls: "note"))
            y += 30
        }
        let outside = allPlaced.count - drawn
        if outside > 0 {
            body.append(text(margin, y + 12, "\(Fmt.count(outside, "leaked mapping")) outside the windows (MAPWARDEN_TRACK=all) not drawn.", cls: "note"))
            y += 22
        }
        if m.suppressedMappings > 0 {
            body.append(text(margin, y + 12, "\(Fmt.count(m.suppressedMappings, "suppressed mapping")) (\(Fmt.bytes(m.suppressedBytes))) not drawn: reports do not give their addresses.", cls: "note"))
            y += 22
        }
        // Legend.
        y += 6
        var x = margin
        for (cls, label) in [("leak", "leaked"), ("inherited", "inherited (the parent's)"), ("free", "free (reserved)")] {
            body.append("<rect class=\"\(cls)\" x=\"\(SVGPicture.num(x))\" y=\"\(SVGPicture.num(y))\" width=\"14\" height=\"14\"/>")
            body.append(text(x + 20, y + 12, label, cls: "label"))
            x += 40 + Double(label.count) * 7
        }
        y += 24
        body.append(text(margin, y + 12, "Top bar of each window: to scale. Bars below: groups of nearby leaked ranges, each to its own scale; free gaps between them shortened, their sizes written on them.", cls: "note"))
        y += 30

        let style = """
            <style>
              text { font-family: DejaVu Sans Mono, monospace; font-size: 11px; fill: #222; }
              .title { font-size: 15px; font-weight: bold; }
              .heading { font-size: 13px; font-weight: bold; }
              .note { fill: #555; }
              .gaplabel { fill: #345; font-size: 10px; }
              .addr { font-size: 9px; fill: #444; }
              .leak { fill: #d62728; stroke: #8b0000; stroke-width: 0.5; }
              .inherited { fill: #ff9f1c; stroke: #a0522d; stroke-width: 0.5; }
              .free { fill: url(#hatch); stroke: #9ab; stroke-width: 0.5; }
              .group { fill: #f4f6f8; stroke: #789; stroke-width: 0.5; }
              .tick { stroke: #678; stroke-width: 0.7; }
              .brk { stroke: #678; stroke-width: 1; fill: none; }
            </style>
            """
        let defs = """
            <defs><pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">\
            <rect width="6" height="6" fill="#eef3f8"/><line x1="0" y1="0" x2="0" y2="6" stroke="#c9d6e3" stroke-width="2"/></pattern></defs>
            """
        return """
            <?xml version="1.0" encoding="UTF-8"?>
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(y))" viewBox="0 0 \(Int(width)) \(Int(y))">
            <title>mapwarden window picture</title>
            \(style)
            \(defs)
            <rect x="0" y="0" width="\(Int(width))" height="\(Int(y))" fill="white"/>
            \(body.joined(separator: "\n"))
            </svg>

            """
    }

    func text(_ x: Double, _ y: Double, _ s: String, cls: String, anchor: String? = nil, rotate: Double? = nil) -> String {
        var attrs = "x=\"\(SVGPicture.num(x))\" y=\"\(SVGPicture.num(y))\" class=\"\(cls)\""
        if let anchor { attrs += " text-anchor=\"\(anchor)\"" }
        if let rotate { attrs += " transform=\"rotate(\(SVGPicture.num(rotate)) \(SVGPicture.num(x)) \(SVGPicture.num(y)))\"" }
        return "<text \(attrs)>\(SVGPicture.escape(s))</text>"
    }

    /// Groups of nearby ranges, and the free gaps between them.
    static func pieces(base: UInt64, end: UInt64, ranges: [(UInt64, UInt64)]) -> [Piece] {
        var sorted = ranges.map { (max($0.0, base), min($0.1, end)) }.filter { $0.0 < $0.1 }.sorted { $0 < $1 }
        var joinGap: UInt64 = 1 << 20
        var groups: [(UInt64, UInt64)] = []
        while true {
            groups = []
            for r in sorted {
                if let last = groups.last, r.0 <= last.1 + joinGap {
                    groups[groups.count - 1].1 = max(last.1, r.1)
                } else {
                    groups.append(r)
                }
            }
            if groups.count <= 24 { break }
            joinGap *= 4
            sorted = groups
        }
        var out: [Piece] = []
        var cursor = base
        for g in groups {
            if g.0 > cursor { out.append(Piece(start: cursor, end: g.0, isGap: true)) }
            out.append(Piece(start: g.0, end: g.1, isGap: false))
            cursor = g.1
        }
        if cursor < end { out.append(Piece(start: cursor, end: end, isGap: true)) }
        return out
    }

    func windowPanel(_ w: LeakReport.ReportWindow, leaks: [(MergedReport.Group, MergedReport.Placed)], top: Double) -> (String, Double) {
        let base = w.baseValue, end = base + w.size
        var out: [String] = []
        var y = top
        let own = leaks.filter { !$0.0.inherited }
        let ownBytes = own.reduce(UInt64(0)) { $0 + $1.1.leak.size }
        out.append(text(margin, y + 13, "\(w.title) \(w.rangeText): \(Fmt.count(own.count, "leaked range")) (\(Fmt.bytes(ownBytes)))", cls: "heading"))
        y += 22

        // Overview, to scale.
        let x0 = margin + laneLabel, barW = width - x0 - margin
        let scale = barW / Double(w.size)
        out.append(text(margin, y + 15, "to scale", cls: "note"))
        out.append("<rect class=\"free\" x=\"\(SVGPicture.num(x0))\" y=\"\(SVGPicture.num(y))\" width=\"\(SVGPicture.num(barW))\" height=\"20\"/>")
        for (g, p) in leaks {
            let x = x0 + Double(p.leak.addressValue - base) * scale
            let wd = max(1.0, Double(p.leak.size) * scale)
            out.append("<rect class=\"\(g.inherited ? "inherited" : "leak")\" x=\"\(SVGPicture.num(x))\" y=\"\(SVGPicture.num(y))\" width=\"\(SVGPicture.num(wd))\" height=\"20\"/>")
        }
        for i in 0...8 {
            let x = x0 + barW * Double(i) / 8
            out.append("<line class=\"tick\" x1=\"\(SVGPicture.num(x))\" y1=\"\(SVGPicture.num(y + 20))\" x2=\"\(SVGPicture.num(x))\" y2=\"\(SVGPicture.num(y + 25))\"/>")
            let label = i == 0 ? Fmt.hex(base) : i == 8 ? Fmt.hex(end) : "+" + Fmt.bytes(w.size / 8 * UInt64(i))
            out.append(text(x, y + 36, label, cls: "addr", anchor: i == 0 ? "start" : i == 8 ? "end" : "middle"))
        }
        y += 52

        // Detail: groups to their own scale, gaps shortened.
        var pieces = SVGPicture.pieces(base: base, end: end, ranges: leaks.map { ($0.1.leak.addressValue, $0.1.leak.addressValue + $0.1.leak.size) })
        let groupCount = pieces.filter { !$0.isGap }.count
        if groupCount == 0 {
            out.append(text(margin, y + 12, "No leaked ranges in this window: all of it is free (reserved) at exit.", cls: "note"))
            return (out.joined(separator: "\n"), y + 20 - top)
        }
        // Widths: groups share 75% (or all but the gaps' minimum), gaps the rest, by log size.
        let gapCount = pieces.count - groupCount
        let gapShare = gapCount == 0 ? 0.0 : min(0.35, 0.12 * Double(gapCount)) * barW
        let groupShare = barW - gapShare
        func weight(_ p: Piece) -> Double { log2(Double(max(p.end - p.start, 4096)) / 4096) + 1 }
        let gw = pieces.filter(\.isGap).reduce(0.0) { $0 + weight($1) }
        let rw = pieces.filter { !$0.isGap }.reduce(0.0) { $0 + weight($1) }
        var x = x0
        for i in pieces.indices {
            let share = pieces[i].isGap ? gapShare * weight(pieces[i]) / max(gw, 1) : groupShare * weight(pieces[i]) / max(rw, 1)
            pieces[i].x = x
            pieces[i].w = share
            x += share
        }
        // Lanes: one per process.
        let pids = Array(Set(leaks.map { $0.1.pid })).sorted()
        let lanesTop = y
        let lanesH = Double(pids.count) * laneHeight
        for p in pieces {
            if p.isGap {
                out.append("<rect class=\"free\" x=\"\(SVGPicture.num(p.x))\" y=\"\(SVGPicture.num(lanesTop))\" width=\"\(SVGPicture.num(p.w))\" height=\"\(SVGPicture.num(lanesH))\"><title>\(Fmt.hex(p.start))-\(Fmt.hex(p.end)): \(Fmt.bytes(p.end - p.start)) free</title></rect>")
                // Break marks: the gap is not to scale.
                let mx = p.x + p.w / 2
                out.append("<path class=\"brk\" d=\"M\(SVGPicture.num(mx - 4)),\(SVGPicture.num(lanesTop - 3)) l4,6 l4,-6 M\(SVGPicture.num(mx - 4)),\(SVGPicture.num(lanesTop + lanesH + 3)) l4,-6 l4,6\"/>")
                if p.w > 46 {
                    out.append(text(mx, lanesTop + lanesH / 2 + 4, Fmt.bytes(p.end - p.start) + " free", cls: "gaplabel", anchor: "middle"))
                }
            } else {
                out.append("<rect class=\"group\" x=\"\(SVGPicture.num(p.x))\" y=\"\(SVGPicture.num(lanesTop))\" width=\"\(SVGPicture.num(p.w))\" height=\"\(SVGPicture.num(lanesH))\"/>")
            }
        }
        for (lane, pid) in pids.enumerated() {
            let ly = lanesTop + Double(lane) * laneHeight
            out.append(text(margin, ly + laneHeight / 2 + 4, "pid \(pid)", cls: "label"))
            for (g, placed) in leaks where placed.pid == pid {
                let a = placed.leak.addressValue, e = a + placed.leak.size
                guard let piece = pieces.first(where: { !$0.isGap && a >= $0.start && a < $0.end }) else { continue }
                let span = Double(piece.end - piece.start)
                let lx = piece.x + piece.w * Double(a - piece.start) / span
                let lw = max(1.5, piece.w * Double(min(e, piece.end) - a) / span)
                let top = g.stack.first.map { $0.symbol ?? Paths.basename($0.module ?? "?") } ?? "no stack"
                let tip = "\(placed.leak.address) \(placed.leak.details(namingWindows: merged.namesWindows)), pid \(pid): \(top)"
                out.append("<rect class=\"\(g.inherited ? "inherited" : "leak")\" data-pid=\"\(pid)\" data-address=\"\(SVGPicture.escape(placed.leak.address))\" data-size=\"\(placed.leak.size)\" x=\"\(SVGPicture.num(lx))\" y=\"\(SVGPicture.num(ly + 3))\" width=\"\(SVGPicture.num(lw))\" height=\"\(SVGPicture.num(laneHeight - 6))\"><title>\(SVGPicture.escape(tip))</title></rect>")
            }
        }
        y = lanesTop + lanesH + 6
        // Group labels: start address and size, slanted so that neighbours do not collide.
        for p in pieces where !p.isGap {
            out.append(text(p.x + 2, y + 8, "\(Fmt.hex(p.start)) (\(Fmt.bytes(p.end - p.start)))", cls: "addr", rotate: 25))
        }
        y += 70
        return (out.joined(separator: "\n"), y - top)
    }
}
