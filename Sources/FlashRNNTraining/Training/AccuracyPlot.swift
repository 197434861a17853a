/// An SVG line plot of accuracy against string length, one line per model, written by hand.
public enum AccuracyPlot {
    public static func svg(_ results: [(name: String, buckets: [Evaluation.Bucket])], trainLengths: ClosedRange<Int>,
                           title: String) -> String {
        let width = 640.0, height = 400.0, left = 60.0, right = 150.0, top = 40.0, bottom = 50.0
        let plotW = width - left - right, plotH = height - top - bottom
        let maxLength = Double(results.flatMap { $0.buckets.map(\.lengths.upperBound) }.max() ?? 256)
        func x(_ length: Double) -> Double { left + plotW * length / maxLength }
        func y(_ accuracy: Double) -> Double { top + plotH * (1 - accuracy) }
        func f(_ v: Double) -> String { String(Int((v * 10).rounded())) .withDecimal }
        let colours = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd"]
        var svg = """
        <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" viewBox="0 0 \(Int(width)) \(Int(height))" font-family="sans-serif" font-size="12">
        <rect width="100%" height="100%" fill="white"/>
        <text x="\(f(left))" y="24" font-size="15">\(escape(title))</text>
        <rect x="\(f(x(Double(trainLengths.lowerBound))))" y="\(f(top))" width="\(f(x(Double(trainLengths.upperBound)) - x(Double(trainLengths.lowerBound))))" height="\(f(plotH))" fill="#eeeeee"/>
        <text x="\(f(x(Double(trainLengths.lowerBound)) + 4))" y="\(f(top + 14))" fill="#666">trained</text>

        """
        for tick in stride(from: 0.0, through: 1.0, by: 0.25) {
            svg += "<line x1=\"\(f(left))\" y1=\"\(f(y(tick)))\" x2=\"\(f(left + plotW))\" y2=\"\(f(y(tick)))\" stroke=\"#ddd\"/>\n"
            svg += "<text x=\"\(f(left - 8))\" y=\"\(f(y(tick) + 4))\" text-anchor=\"end\">\(Int(tick * 100))%</text>\n"
        }
        svg += "<line x1=\"\(f(left))\" y1=\"\(f(y(0.5)))\" x2=\"\(f(left + plotW))\" y2=\"\(f(y(0.5)))\" stroke=\"#999\" stroke-dasharray=\"4 4\"/>\n"
        let step = maxLength <= 256 ? 32.0 : (maxLength / 8).rounded()
        for tick in stride(from: 0.0, through: maxLength, by: step) {
            svg += "<text x=\"\(f(x(tick)))\" y=\"\(f(top + plotH + 18))\" text-anchor=\"middle\">\(Int(tick))</text>\n"
        }
        svg += "<rect x=\"\(f(left))\" y=\"\(f(top))\" width=\"\(f(plotW))\" height=\"\(f(plotH))\" fill=\"none\" stroke=\"#333\"/>\n"
        svg += "<text x=\"\(f(left + plotW / 2))\" y=\"\(f(height - 10))\" text-anchor=\"middle\">string length (bucket upper end)</text>\n"
        svg += "<text x=\"16\" y=\"\(f(top + plotH / 2))\" text-anchor=\"middle\" transform=\"rotate(-90 16 \(f(top + plotH / 2)))\">accuracy (whole string)</text>\n"
        for (index, result) in results.enumerated() {
            let colour = colours[index % colours.count]
            let points = result.buckets.map { "\(f(x(Double($0.lengths.upperBound)))),\(f(y($0.accuracy)))" }
            svg += "<polyline fill=\"none\" stroke=\"\(colour)\" stroke-width=\"2\" points=\"\(points.joined(separator: " "))\"/>\n"
            for bucket in result.buckets {
                svg += "<circle cx=\"\(f(x(Double(bucket.lengths.upperBound))))\" cy=\"\(f(y(bucket.accuracy)))\" r=\"3.5\" fill=\"\(colour)\"/>\n"
            }
            let ly = top + 10 + Double(index) * 20
            svg += "<line x1=\"\(f(left + plotW + 12))\" y1=\"\(f(ly))\" x2=\"\(f(left + plotW + 32))\" y2=\"\(f(ly))\" stroke=\"\(colour)\" stroke-width=\"2\"/>\n"
            svg += "<text x=\"\(f(left + plotW + 38))\" y=\"\(f(ly + 4))\">\(escape(result.name))</text>\n"
        }
        return svg + "</svg>\n"
    }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences("&", "&amp;").replacingOccurrences("<", "&lt;").replacingOccurrences(">", "&gt;")
    }
}

private extension String {
    /// "1234" (tenths) → "123.4"
    var withDecimal: String {
        let negative = hasPrefix("-")
        var digits = negative ? String(dropFirst()) : self
        while digits.count < 2 { digits = "0" + digits }
        return (negative ? "-" : "") + digits.dropLast() + "." + digits.suffix(1)
    }

    func replacingOccurrences(_ target: String, _ replacement: String) -> String {
        split(separator: Character(target), omittingEmptySubsequences: false).joined(separator: replacement)
    }
}
