#if canImport(Glibc)
import Glibc
#endif

/// Finding libmapwarden.so: `--library`, else next to the executable (the
/// build directory), else `../lib` from it (an install prefix).
enum Library {
    static let fileName = "libmapwarden.so"

    /// The places looked at, in order.
    static func candidates() -> [String] {
        guard let exe = Paths.executable() else { return [] }
        let dir = Paths.directory(of: exe)
        return [dir + "/" + fileName, Paths.normalized(dir + "/../lib/" + fileName)]
    }

    /// The library's absolute path, or a message naming the places tried.
    static func locate(explicit: String?) -> Result<String, Message> {
        if let explicit {
            let path = Paths.absolute(explicit)
            if access(path, R_OK) == 0 { return .success(path) }
            return .failure(Message("--library \(explicit): \(Errno(errno))"))
        }
        let tried = candidates()
        for path in tried where access(path, R_OK) == 0 { return .success(path) }
        return .failure(Message("cannot find \(fileName); looked at " + tried.joined(separator: " and ")
                                + " (give its place with --library PATH)"))
    }

    /// LD_PRELOAD with the library first and any other preloads after it.
    static func preloadValue(library: String, existing: String?) -> String {
        let others = (existing ?? "").split(whereSeparator: { $0 == ":" || $0 == " " })
            .map(String.init).filter { $0 != library }
        return ([library] + others).joined(separator: ":")
    }
}
