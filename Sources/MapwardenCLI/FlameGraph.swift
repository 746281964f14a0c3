import Foundation

/// A flame graph of a report's leaked bytes by stack, as a self-contained
/// SVG (no script, no external resource): each frame a box as wide as the
/// bytes of the stacks through it, callers below their callees, the whole
/// at the bottom; hover for a frame's name, bytes and share.
struct FlameGraph {
    var profile: StackProfile
    /// The picture's title.
    var title: String

    let width = 1200.0
    let margin = 10.0
    let frameHeight = 17.0
    let header = 46.0
    /// Boxes narrower than this are not drawn (flamegraph.pl's minwidth).
    let minWidth = 0.1
    /// About the advance of one character of the 12 px font.
    let charWidth = 7.0

    func render() -> String {
        let root = profile.tree()
        let depth = root.depth
        let height = header + Double(depth) * frameHeight + 2 * margin
        var out: [String] = []
        out.append("""
            <?xml version="1.0" standalone="no"?>
            <svg version="1.1" xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" \
            viewBox="0 0 \(Int(width)) \(Int(height))">
            <style>text { font-family: Verdana, sans-serif; font-size: 12px; fill: #000; } \
            .title { font-size: 17px; } .sub { font-size: 12px; fill: #555; } rect.frame { stroke: #fff; stroke-width: 0.5; }</style>
            <rect x="0" y="0" width="\(Int(width))" height="\(Int(height))" fill="#f8f8f0"/>
            <text class="title" x="\(SVGPicture.num(width / 2))" y="24" text-anchor="middle">\(SVGPicture.escape(title))</text>
            """)
        let total = root.bytes
        out.append("<text class=\"sub\" x=\"\(SVGPicture.num(width / 2))\" y=\"40\" text-anchor=\"middle\">"
                   + SVGPicture.escape(total == 0 ? "nothing leaked" : "\(Fmt.bytes(total)) in \(Fmt.count(profile.samples.count, "stack"))")
                   + "</text>")
        if total > 0 {
            let scale = (width - 2 * margin) / Double(total)
            let bottom = height - margin
            draw(root, x: margin, level: 0, scale: scale, total: total, bottom: bottom, &out)
        }
        out.append("</svg>")
        return out.joined(separator: "\n") + "\n"
    }

    private func draw(_ node: StackProfile.Node, x: Double, level: Int, scale: Double, total: UInt64, bottom: Double,
                      _ out: inout [String]) {
        let w = Double(node.bytes) * scale
        if w < minWidth { return }
        let y = bottom - Double(level + 1) * frameHeight
        let share = Double(node.bytes) * 100 / Double(total)
        let tip = "\(node.name) (\(Fmt.bytes(node.bytes)), \(String(format: "%.2f", share))%)"
        var g = "<g><title>\(SVGPicture.escape(tip))</title>"
        g += "<rect class=\"frame\" x=\"\(SVGPicture.num(x))\" y=\"\(SVGPicture.num(y))\" width=\"\(SVGPicture.num(w))\" "
        g += "height=\"\(SVGPicture.num(frameHeight - 1))\" fill=\"\(FlameGraph.color(node.name, root: level == 0))\"/>"
        let fits = Int((w - 6) / charWidth)
        if fits >= 3 {
            let label = node.name.count <= fits ? node.name : String(node.name.prefix(fits - 2)) + ".."
            g += "<text x=\"\(SVGPicture.num(x + 3))\" y=\"\(SVGPicture.num(y + frameHeight - 5))\">\(SVGPicture.escape(label))</text>"
        }
        out.append(g + "</g>")
        var at = x
        for child in node.sortedChildren {
            draw(child, x: at, level: level + 1, scale: scale, total: total, bottom: bottom, &out)
            at += Double(child.bytes) * scale
        }
    }

    /// flamegraph.pl's warm palette, the same colour for the same name.
    static func color(_ name: String, root: Bool) -> String {
        if root { return "rgb(220,220,220)" }
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in name.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        let r = 205 + Int(h % 50), g = Int((h >> 8) % 230), b = Int((h >> 16) % 55)
        return "rgb(\(r),\(g),\(b))"
    }
}
