import Foundation
import Testing
@testable import MapwardenLogic

func supMatch(_ pattern: String, _ text: String) -> Bool {
    withBytes(pattern, text) { SuppressionList.matches(pattern: $0, $1) }
}

/// One result of SuppressionReader.next(), copied out of the borrowed text.
enum SupRead: Equatable, CustomStringConvertible {
    case rule(line: Int, pattern: String, rule: String)
    case error(SeenError)

    var description: String {
        switch self {
        case let .rule(line, pattern, rule): return "\(line): [\(pattern)] from [\(rule)]"
        case let .error(e): return "error \(e)"
        }
    }
}

/// Reads a whole suppressions file, going on after bad lines.
func readSuppressions(_ text: String) -> [SupRead] {
    withBytes(text) { bytes in
        var reader = SuppressionReader(bytes)
        var out: [SupRead] = []
        for _ in 0..<1000 {
            do throws(ConfigError) {
                guard let s = try reader.next() else { return out }
                out.append(.rule(line: s.line, pattern: string(s.pattern), rule: string(s.rule)))
            } catch {
                out.append(.error(SeenError(error)))
            }
        }
        Issue.record("reader did not finish")
        return out
    }
}

/// The message SuppressionList.init throws for a file, or nil.
func suppressionError(_ text: String, file: String = "supp.txt") -> String? {
    withBytes(text, file) { bytes, name in
        do throws(ConfigError) {
            _ = try SuppressionList(bytes)
            return nil
        } catch {
            return render { error.describe(into: &$0, fileName: name) }
        }
    }
}

@Suite struct SuppressionMatchTests {
    /// The examples of LSan's documentation.
    @Test func substringByDefault() {
        #expect(supMatch("FooBar", "FooBar"))
        #expect(supMatch("FooBar", "ns::FooBar(int)"))
        #expect(supMatch("libfoo.so", "/usr/lib/x86_64-linux-gnu/libfoo.so.1"))
        #expect(!supMatch("FooBar", "Foobar"))  // case matters
        #expect(!supMatch("FooBar", "FooBa"))   // pattern longer than text
        #expect(!supMatch("FooBar", "Foo Bar"))
    }

    @Test func stars() {
        #expect(supMatch("*LSanTestLeakingFunc*", "LSanTestLeakingFunc"))
        #expect(supMatch("*LSanTestLeakingFunc*", "void LSanTestLeakingFunc()"))
        #expect(supMatch("*", "x"))
        #expect(supMatch("**", "x"))
        #expect(supMatch("a*b*c", "abc"))
        #expect(supMatch("a*b*c", "xxaYYbZZcxx"))
        #expect(!supMatch("a*b*c", "cba"))
        #expect(!supMatch("a*b*c", "ab"))
        #expect(!supMatch("a*b*c", "acb"))
        #expect(supMatch("std::*::allocate", "std::vector<int>::allocate"))
        #expect(!supMatch("std::*::allocate", "std::allocate"))
        // Pieces do not overlap.
        #expect(!supMatch("aba*aba", "ababa"))
        #expect(supMatch("aba*aba", "abaaba"))
        // The first place of a piece is not always where the text has it
        // last: the later pieces still fit after it.
        #expect(supMatch("a*ab", "aab"))
    }

    @Test func startAnchor() {
        #expect(supMatch("^foo", "foo"))
        #expect(supMatch("^foo", "foobar"))
        #expect(!supMatch("^foo", "xfoo"))
        #expect(supMatch("^foo*bar", "foo::bar"))
        #expect(!supMatch("^foo*bar", "xfoo::bar"))
        // A star right after ^ undoes the anchor.
        #expect(supMatch("^*foo", "xfoo"))
        #expect(supMatch("^*foo", "foo"))
        // ^ elsewhere is an ordinary byte.
        #expect(supMatch("a^b", "xa^by"))
        #expect(!supMatch("a^b", "ab"))
    }

    @Test func endAnchor() {
        #expect(supMatch("foo$", "foo"))
        #expect(supMatch("foo$", "xfoo"))
        #expect(!supMatch("foo$", "foox"))
        // The last foo is at the end even though the first is not (LLVM's
        // TemplateMatch only tries the first one).
        #expect(supMatch("foo$", "foofoo"))
        #expect(supMatch("libc.so*$", "libc.so.6"))
        #expect(supMatch("a*c$", "abcabc"))
        #expect(!supMatch("a*c$", "abcab"))
        // A star right before $ undoes the anchor.
        #expect(supMatch("foo*$", "foox"))
        // $ elsewhere is an ordinary byte.
        #expect(supMatch("foo$bar", "foo$bar"))
        #expect(supMatch("foo$bar", "x::foo$bar::y"))
        #expect(!supMatch("foo$bar", "foo"))
        #expect(!supMatch("foo$bar", "xfoo"))
        #expect(supMatch("$s4main", "$s4main4leakyyF"))
        // A $ that ends the pattern is always the anchor; a star after it
        // makes it an ordinary byte.
        #expect(!supMatch("$LT$", "_ZN4core3ptr13drop_in_place$LT$alloc..Vec$GT$"))
        #expect(supMatch("$LT$*", "_ZN4core3ptr13drop_in_place$LT$alloc..Vec$GT$"))
        #expect(supMatch("$LT$", "drop_in_place$LT"))
    }

    @Test func bothAnchors() {
        #expect(supMatch("^foo$", "foo"))
        #expect(!supMatch("^foo$", "foox"))
        #expect(!supMatch("^foo$", "xfoo"))
        #expect(!supMatch("^foo$", "foofoo"))
        #expect(supMatch("^a*b$", "ab"))
        #expect(supMatch("^a*b$", "axxb"))
        #expect(!supMatch("^a*b$", "axxbx"))
        #expect(!supMatch("^a*b$", "xab"))
        // Anchored pieces must not overlap: "aba" is too short for ab...ba.
        #expect(!supMatch("^ab*ba$", "aba"))
        #expect(supMatch("^ab*ba$", "abba"))
        #expect(supMatch("^a*b*c$", "abc"))
        #expect(!supMatch("^a*b*c$", "acb"))
    }

    @Test func emptyTextMatchesNothing() {
        for p in ["*", "^", "$", "^$", "^*$", "a", "**"] {
            #expect(!supMatch(p, ""), "\(p)")
        }
    }

    @Test func degeneratePatterns() {
        #expect(supMatch("*", "anything"))
        #expect(supMatch("^", "anything"))
        #expect(supMatch("$", "anything"))
        #expect(supMatch("^*$", "anything"))
        #expect(!supMatch("^$", "x")) // only the empty text, which matches nothing
        #expect(!supMatch("x", ""))
    }

    /// Many stars do not blow up (no recursion, no backtracking).
    @Test func manyStars() {
        let pattern = String(repeating: "*a", count: 2000) + "*b"
        let text = String(repeating: "a", count: 5000)
        #expect(!supMatch(pattern, text))
        #expect(supMatch(pattern, text + "b"))
        #expect(!supMatch(String(repeating: "a*", count: 5001), text))
        #expect(supMatch(String(repeating: "a*", count: 5000), text))
    }

    /// Against a straightforward (exponential) reference on small inputs.
    @Test func agreesWithReference() {
        func reference(_ p: [UInt8], _ t: [UInt8]) -> Bool {
            if t.isEmpty { return false }
            var body = p[...]
            let start = body.first == UInt8(ascii: "^")
            if start { body = body.dropFirst() }
            let end = body.last == UInt8(ascii: "$")
            if end { body = body.dropLast() }
            func glob(_ p: ArraySlice<UInt8>, _ t: ArraySlice<UInt8>) -> Bool {
                guard let c = p.first else { return t.isEmpty }
                if c == UInt8(ascii: "*") {
                    var rest = t
                    while true {
                        if glob(p.dropFirst(), rest) { return true }
                        if rest.isEmpty { return false }
                        rest = rest.dropFirst()
                    }
                }
                return t.first == c && glob(p.dropFirst(), t.dropFirst())
            }
            let star: [UInt8] = [UInt8(ascii: "*")]
            let full = ArraySlice((start ? [] : star) + Array(body) + (end ? [] : star))
            return glob(full, t[...])
        }
        let alphabet: [UInt8] = Array("ab*^$".utf8)
        var seed: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next(_ n: Int) -> Int {
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            return Int((seed >> 33) % UInt64(n))
        }
        var checked = 0
        for _ in 0..<20000 {
            let p = (0..<next(7)).map { _ in alphabet[next(alphabet.count)] }
            let t = (0..<next(7)).map { _ in alphabet[next(3) == 0 ? 4 : next(2)] } // a, b, some $
            let got = p.withUnsafeBufferPointer { pb in
                t.withUnsafeBufferPointer { tb in SuppressionList.matches(pattern: Bytes(pb), Bytes(tb)) }
            }
            let want = reference(p, t)
            if got != want {
                Issue.record("pattern \(String(decoding: p, as: UTF8.self)) text \(String(decoding: t, as: UTF8.self)): got \(got)")
                break
            }
            checked += 1
        }
        #expect(checked == 20000)
    }
}

@Suite struct SuppressionFileTests {
    @Test func rulesCommentsAndBlankLines() {
        let text = """
        # known leaks

        leak:known_leak
           leak:^libfoo.so$  \t
        \t# indented comment
        leak: spaced pattern 
        """
        #expect(readSuppressions(text) == [
            .rule(line: 3, pattern: "known_leak", rule: "leak:known_leak"),
            .rule(line: 4, pattern: "^libfoo.so$", rule: "leak:^libfoo.so$"),
            .rule(line: 6, pattern: "spaced pattern", rule: "leak: spaced pattern"),
        ])
    }

    @Test func emptyFiles() {
        #expect(readSuppressions("") == [])
        #expect(readSuppressions("\n\n\r\n") == [])
        #expect(readSuppressions("# only\n#comments") == [])
    }

    @Test func crlfLineEndings() {
        #expect(readSuppressions("leak:a\r\n\r\n# c\r\nleak:b$\r\n") == [
            .rule(line: 1, pattern: "a", rule: "leak:a"),
            .rule(line: 4, pattern: "b$", rule: "leak:b$"),
        ])
    }

    @Test func badLinesNameTheirLine() {
        let text = """
        leak:ok
        malloc:foo
        leak:
        no_colon_here

        called_from_lib:libfoo.so
        Leak:foo
        leak :foo
        leak:   
        leak:fine # a trailing comment
        leak:  # only a comment
        """
        #expect(readSuppressions(text) == [
            .rule(line: 1, pattern: "ok", rule: "leak:ok"),
            .error(SeenError(.suppressionNotLeak, .file(line: 2), key: "", value: "malloc:foo")),
            .error(SeenError(.suppressionEmptyPattern, .file(line: 3), key: "", value: "leak:")),
            .error(SeenError(.suppressionMissingColon, .file(line: 4), key: "", value: "no_colon_here")),
            .error(SeenError(.suppressionNotLeak, .file(line: 6), key: "", value: "called_from_lib:libfoo.so")),
            .error(SeenError(.suppressionNotLeak, .file(line: 7), key: "", value: "Leak:foo")),
            .error(SeenError(.suppressionNotLeak, .file(line: 8), key: "", value: "leak :foo")),
            .error(SeenError(.suppressionEmptyPattern, .file(line: 9), key: "", value: "leak:")),
            .rule(line: 10, pattern: "fine", rule: "leak:fine"),
            .error(SeenError(.suppressionEmptyPattern, .file(line: 11), key: "", value: "leak:")),
        ])
    }

    /// A `#` after a space or tab starts a comment; one without is part of
    /// the pattern. The rule (as the report shows it) has no comment.
    @Test func trailingComments() {
        let text = "leak:known_cache_init          # any frame's function containing this\n"
            + "leak:^third_party::\t# after a tab\n"
            + "leak:a#b\n"
            + "leak:c# d # e\n"
            + "leak:spaced pattern  #  two # signs\r\n"
            + "#leak:commented_out # too\n"
            + "leak:x #\n"
        #expect(readSuppressions(text) == [
            .rule(line: 1, pattern: "known_cache_init", rule: "leak:known_cache_init"),
            .rule(line: 2, pattern: "^third_party::", rule: "leak:^third_party::"),
            .rule(line: 3, pattern: "a#b", rule: "leak:a#b"),
            .rule(line: 4, pattern: "c# d", rule: "leak:c# d"),
            .rule(line: 5, pattern: "spaced pattern", rule: "leak:spaced pattern"),
            .rule(line: 7, pattern: "x", rule: "leak:x"),
        ])
        #expect(suppressionError("leak: # nothing left\n")
                == #"mapwarden: supp.txt:1: bad suppression "leak:": the pattern is empty (expected leak:PATTERN)"#)
    }

    /// The example file in README.md ("suppress a known leak"), read from
    /// the README itself so that the two cannot drift apart: every line is
    /// a rule, and each does what its comment says.
    @Test func readmeExampleFile() throws {
        let readme = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../README.md").standardized
        let text = try String(contentsOf: readme, encoding: .utf8)
        let blocks = text.components(separatedBy: "```")
        let example = try #require(blocks.first { $0.hasPrefix("\n# mapwarden.supp\n") },
                                   "README.md has no ``` block starting with \"# mapwarden.supp\"")
        // (Line 1 is the rest of the fence's line, 2 the "# mapwarden.supp" comment.)
        #expect(readSuppressions(example) == [
            .rule(line: 3, pattern: "known_cache_init", rule: "leak:known_cache_init"),
            .rule(line: 4, pattern: "^third_party::", rule: "leak:^third_party::"),
            .rule(line: 5, pattern: "libvendor.so", rule: "leak:libvendor.so"),
        ])
        withBytes(example) { bytes -> Void in
            guard let list = try? SuppressionList(bytes) else {
                Issue.record("the example does not parse")
                return
            }
            func first(_ function: String, _ module: String) -> Int? {
                withBytes(function, module) { list.firstMatch(function: $0, module: $1) }
            }
            #expect(first("my_known_cache_init_step", "/opt/app/bin/app") == 0)     // any frame's function containing it
            #expect(first("third_party::Cache::fill(int)", "/opt/app/bin/app") == 1) // ^ anchors at the start
            #expect(first("ours::third_party::fill", "/opt/app/bin/app") == nil)
            #expect(first("vendor_init", "/opt/vendor/lib/libvendor.so") == 2)       // or the module's path
            #expect(first("main", "/opt/app/bin/app") == nil)
        }
    }

    @Test func describeNamesFileAndLine() {
        #expect(suppressionError("leak:a\n# x\nmalloc:foo\n", file: "/etc/mw.supp")
                == #"mapwarden: /etc/mw.supp:3: bad suppression "malloc:foo": only leak: suppressions are supported (expected leak:PATTERN)"#)
        #expect(suppressionError("\n\nleak:\r\n")
                == #"mapwarden: supp.txt:3: bad suppression "leak:": the pattern is empty (expected leak:PATTERN)"#)
        #expect(suppressionError("leak:a\nfoo\n")
                == #"mapwarden: supp.txt:2: bad suppression "foo": expected leak:PATTERN"#)
        #expect(suppressionError("leak:a\tb\u{1}\n\"x\n")
                == #"mapwarden: supp.txt:2: bad suppression "\"x": expected leak:PATTERN"#)
        // The first bad line is the one reported.
        #expect(suppressionError("x\ny:z\n") == #"mapwarden: supp.txt:1: bad suppression "x": expected leak:PATTERN"#)
        #expect(suppressionError("leak:a\n\n# c\nleak:*b*\n") == nil)
        #expect(suppressionError("") == nil)
    }

    @Test func describeThroughConfigError() {
        #expect(describe(.suppressionNotLeak, .file(line: 7), key: "", value: "called_from_lib:x", file: "s.txt")
                == #"mapwarden: s.txt:7: bad suppression "called_from_lib:x": only leak: suppressions are supported (expected leak:PATTERN)"#)
        #expect(describe(.suppressionMissingColon, .file(line: 1), key: "", value: "leak", file: "s.txt")
                == #"mapwarden: s.txt:1: bad suppression "leak": expected leak:PATTERN"#)
        #expect(describe(.suppressionEmptyPattern, .file(line: 2), key: "", value: "leak:", file: "s.txt")
                == #"mapwarden: s.txt:2: bad suppression "leak:": the pattern is empty (expected leak:PATTERN)"#)
        #expect(ConfigError.Problem.suppressionNotLeak == .suppressionNotLeak)
        #expect(ConfigError.Problem.suppressionNotLeak != .suppressionMissingColon)
        #expect(ConfigError.Problem.suppressionEmptyPattern != .reportPathBadPercent)
    }
}

@Suite struct SuppressionListTests {
    /// Runs body with a checked list over text.
    func withList<R>(_ text: String, _ body: (SuppressionList) -> R) -> R {
        withBytes(text) { bytes in
            do throws(ConfigError) {
                return body(try SuppressionList(bytes))
            } catch {
                Issue.record("unexpected \(SeenError(error))")
                return body(.none)
            }
        }
    }

    func first(_ list: SuppressionList, function: String, module: String) -> Int? {
        withBytes(function, module) { list.firstMatch(function: $0, module: $1) }
    }

    let file = """
    # mapwarden suppressions
    leak:known_leak
    leak:^libfoo.so

    leak:*/libbar.so*
    leak:^operator new$\r
    leak:leak
    """

    @Test func countAndPatterns() {
        withList(file) { list in
            #expect(list.count == 5)
            #expect(string(list.pattern(at: 0)) == "known_leak")
            #expect(string(list.pattern(at: 1)) == "^libfoo.so")
            #expect(string(list.pattern(at: 2)) == "*/libbar.so*")
            #expect(string(list.pattern(at: 3)) == "^operator new$")
            #expect(string(list.rule(at: 3)) == "leak:^operator new$")
            #expect(string(list.rule(at: 4)) == "leak:leak")
            #expect(list.suppression(at: 2).line == 5)
        }
        withList("") { #expect($0.count == 0) }
        #expect(SuppressionList.none.count == 0)
    }

    @Test func firstMatchingSuppression() {
        withList(file) { list in
            #expect(first(list, function: "known_leak", module: "/tmp/t/leaky") == 0)
            // Function and module both count; the earliest suppression wins.
            #expect(first(list, function: "my_known_leak_helper", module: "/usr/lib/libbar.so.2") == 0)
            #expect(first(list, function: "f", module: "/usr/lib/libbar.so.2") == 2)
            #expect(first(list, function: "libfoo.so_init", module: "/lib/libfoo.so") == 1)
            #expect(first(list, function: "f", module: "/lib/libfoo.so") == nil) // ^ anchors the module path
            #expect(first(list, function: "operator new", module: "/lib/libstdc++.so.6") == 3)
            #expect(first(list, function: "operator new[]", module: "/lib/libstdc++.so.6") == nil)
            #expect(first(list, function: "do_leak", module: "/tmp/t/app") == 4)
            #expect(first(list, function: "", module: "") == nil)
            #expect(first(list, function: "", module: "/x/libbar.so") == 2)
            #expect(first(list, function: "main", module: "/tmp/t/app") == nil)
        }
        withList("# nothing\n") { list in
            #expect(first(list, function: "known_leak", module: "/tmp/t/leaky") == nil)
        }
    }
}
