import CShim
import MapwardenLogic

// The engine's C entry points (declared in CShim/include/mapwarden_engine.h).
// Each returns the kernel's convention: a value, or -errno.

@_cdecl("mw_engine_start")
func mw_engine_start() -> Int32 {
    Startup.run() ? 1 : 0
}

/// Right before libunwind is loaded late (at the first call that needs a
/// stack): room for its code where the program made no hole (LoaderRoom).
/// 1 when libunwind may be loaded now, 0 when no room could be made.
@_cdecl("mw_engine_make_room_for_unwinder")
func mw_engine_make_room_for_unwinder() -> Int32 {
    Int32(WindowService.locked({ KernelResult(0) }) { state in
        guard let top = state.unwindZone.makeRoomForLoader() else { return KernelResult(0) }
        return KernelResult(loaderRoom.coverAbove(top) ? 1 : 0)
    }.raw)
}

/// Right after: the placeholders LoaderRoom made go.
@_cdecl("mw_engine_unwinder_loaded")
func mw_engine_unwinder_loaded() {
    _ = WindowService.locked({ KernelResult(0) }) { _ in
        loaderRoom.uncover()
        return KernelResult(0)
    }
}

@_cdecl("mw_engine_mmap")
func mw_engine_mmap(_ addr: UInt, _ len: Int, _ prot: Int32, _ flags: Int32, _ fd: Int32, _ off: Int,
                    _ frames: UnsafePointer<UInt64>?, _ depth: Int32) -> Int {
    WindowService.mmap(UInt64(addr), UInt64(UInt(bitPattern: len)), prot, flags, fd, off, CallStack(frames, depth)).raw
}

@_cdecl("mw_engine_munmap")
func mw_engine_munmap(_ addr: UInt, _ len: Int, _ frames: UnsafePointer<UInt64>?, _ depth: Int32) -> Int {
    WindowService.munmap(UInt64(addr), UInt64(UInt(bitPattern: len)), CallStack(frames, depth, call: "munmap")).raw
}

@_cdecl("mw_engine_mprotect")
func mw_engine_mprotect(_ addr: UInt, _ len: Int, _ prot: Int32, _ frames: UnsafePointer<UInt64>?, _ depth: Int32) -> Int {
    let stack = CallStack(frames, depth, call: "mprotect")
    let a = UInt64(addr), n = UInt64(UInt(bitPattern: len))
    return WindowService.onMappings(a, n, stack, change: .protection(prot),
                                    argumentError: { WindowService.protectionError(prot) }) { Kernel.mprotect($0, $1, prot) }.raw
}

@_cdecl("mw_engine_pkey_mprotect")
func mw_engine_pkey_mprotect(_ addr: UInt, _ len: Int, _ prot: Int32, _ pkey: Int32, _ frames: UnsafePointer<UInt64>?, _ depth: Int32) -> Int {
    let stack = CallStack(frames, depth, call: "pkey_mprotect")
    let a = UInt64(addr), n = UInt64(UInt(bitPattern: len))
    return WindowService.onMappings(a, n, stack, change: .protection(prot), argumentError: {
        WindowService.protectionError(prot) ?? Probe.pkey(pkey)
    }) { Kernel.pkeyMprotect($0, $1, prot, pkey) }.raw
}

@_cdecl("mw_engine_mremap")
func mw_engine_mremap(_ old: UInt, _ oldLen: Int, _ newLen: Int, _ flags: Int32, _ newAddr: UInt,
                      _ frames: UnsafePointer<UInt64>?, _ depth: Int32) -> Int {
    WindowService.mremap(UInt64(old), UInt64(UInt(bitPattern: oldLen)), UInt64(UInt(bitPattern: newLen)),
                         flags, UInt64(newAddr), CallStack(frames, depth, call: "mremap")).raw
}

@_cdecl("mw_engine_madvise")
func mw_engine_madvise(_ addr: UInt, _ len: Int, _ advice: Int32, _ frames: UnsafePointer<UInt64>?, _ depth: Int32) -> Int {
    let stack = CallStack(frames, depth, call: "madvise")
    let a = UInt64(addr), n = UInt64(UInt(bitPattern: len))
    // MADV_POPULATE_READ/WRITE stop at the first unmapped page; the others
    // go on past holes.
    let populate = advice == MADV_POPULATE_READ || advice == MADV_POPULATE_WRITE
    return WindowService.onMappings(a, n, stack, holes: populate ? .stop : .skip, change: WindowService.change(ofAdvice: advice),
                                    argumentError: { Kernel.madvise(a, 0, advice).failure }) {
        Kernel.madvise($0, $1, advice)
    }.raw
}

@_cdecl("mw_engine_mlock")
func mw_engine_mlock(_ addr: UInt, _ len: Int, _ frames: UnsafePointer<UInt64>?, _ depth: Int32) -> Int {
    let stack = CallStack(frames, depth, call: "mlock")
    let a = UInt64(addr), n = UInt64(UInt(bitPattern: len))
    // The probe starts at the page: mlock(a, 0) locks a's page when a is
    // not aligned (the kernel rounds the length up over the offset).
    let page = a & ~(config.space.pageSize - 1)
    return WindowService.onMappings(a, n, stack, roundsStart: true, change: .locking(true), needsRegistry: true,
                                    argumentError: { Kernel.mlock(page, 0).failure }) { Kernel.mlock($0, $1) }.raw
}

@_cdecl("mw_engine_mlock2")
func mw_engine_mlock2(_ addr: UInt, _ len: Int, _ flags: UInt32, _ frames: UnsafePointer<UInt64>?, _ depth: Int32) -> Int {
    let stack = CallStack(frames, depth, call: "mlock2")
    let a = UInt64(addr), n = UInt64(UInt(bitPattern: len))
    let page = a & ~(config.space.pageSize - 1)
    return WindowService.onMappings(a, n, stack, roundsStart: true, change: .locking(true), needsRegistry: true,
                                    argumentError: { Kernel.mlock2(page, 0, flags).failure }) {
        Kernel.mlock2($0, $1, flags)
    }.raw
}

@_cdecl("mw_engine_munlock")
func mw_engine_munlock(_ addr: UInt, _ len: Int, _ frames: UnsafePointer<UInt64>?, _ depth: Int32) -> Int {
    let stack = CallStack(frames, depth, call: "munlock")
    let a = UInt64(addr), n = UInt64(UInt(bitPattern: len))
    return WindowService.onMappings(a, n, stack, roundsStart: true, change: .locking(false)) { Kernel.munlock($0, $1) }.raw
}

@_cdecl("mw_engine_msync")
func mw_engine_msync(_ addr: UInt, _ len: Int, _ flags: Int32, _ frames: UnsafePointer<UInt64>?, _ depth: Int32) -> Int {
    let stack = CallStack(frames, depth, call: "msync")
    let a = UInt64(addr), n = UInt64(UInt(bitPattern: len))
    // msync(MS_ASYNC) stops at the first unmapped page; with MS_SYNC or
    // MS_INVALIDATE it goes on past them.
    return WindowService.onMappings(a, n, stack, holes: flags == MS_ASYNC ? .stop : .skip,
                                    argumentError: { Kernel.msync(a, 0, flags).failure }) {
        Kernel.msync($0, $1, flags)
    }.raw
}

@_cdecl("mw_engine_mincore")
func mw_engine_mincore(_ addr: UInt, _ len: Int, _ vec: UnsafeMutablePointer<UInt8>?, _ frames: UnsafePointer<UInt64>?, _ depth: Int32) -> Int {
    let stack = CallStack(frames, depth, call: "mincore")
    let a = UInt64(addr), n = UInt64(UInt(bitPattern: len))
    // The kernel refuses a range past user space (ENOMEM) before it looks
    // at any page, after the alignment (EINVAL).
    if a & (config.space.pageSize - 1) == 0, n > 0, a.addingReportingOverflow(n).overflow || a + n > config.space.userEnd {
        return -Int(ENOMEM)
    }
    return WindowService.onMappings(a, n, stack, argumentError: { Kernel.mincore(a, 0, vec).failure }) {
        lo, len in Kernel.mincore(lo, len, vec.map { $0 + Int((lo - a) / config.space.pageSize) })
    }.raw
}

/// mlockall and munlockall (flags -1): the system call, then the lock bits
/// of every recorded mapping, and whether new ones will be locked.
@_cdecl("mw_engine_mlockall")
func mw_engine_mlockall(_ flags: Int32) -> Int {
    WindowService.lockAll(flags).raw
}

@_cdecl("mw_engine_query")
func mw_engine_query(_ addr: UInt, _ info: UnsafeMutablePointer<mapwarden_info>) -> Int {
    var answer = mapwarden_info()
    let r = WindowService.query(UInt64(addr), &answer)
    // Written after the lock is released: a fault on info cannot strand it.
    if !r.failed { info.pointee = answer }
    return r.raw
}

@_cdecl("mw_engine_windows")
func mw_engine_windows(_ buf: UnsafeMutablePointer<mapwarden_window>?, _ n: UInt) -> Int {
    withUnsafeTemporaryAllocation(of: mapwarden_window.self, capacity: WindowTable.capacity) { all in
        let r = WindowService.windows(all.baseAddress!)
        // Written after the lock is released: a fault on buf cannot strand it.
        if !r.failed, let buf {
            for i in 0..<Int(Swift.min(n, UInt(r.raw))) { buf[i] = all[i] }
        }
        return r.raw
    }
}

@_cdecl("mw_engine_set_tag")
func mw_engine_set_tag(_ addr: UInt, _ tag: UInt) -> Int {
    var old: UInt64 = 0
    return WindowService.tag(UInt64(addr), set: UInt64(tag), &old).raw
}

@_cdecl("mw_engine_get_tag")
func mw_engine_get_tag(_ addr: UInt, _ tag: UnsafeMutablePointer<UInt>) -> Int {
    var value: UInt64 = 0
    let r = WindowService.tag(UInt64(addr), set: nil, &value)
    if !r.failed { tag.pointee = UInt(value) }
    return r.raw
}

@_cdecl("mw_engine_alloc")
func mw_engine_alloc(_ window: UnsafePointer<CChar>?, _ size: Int, _ align: Int, _ prot: Int32, _ flags: Int32,
                     _ frames: UnsafePointer<UInt64>?, _ depth: Int32) -> Int {
    let name = window.map { UnsafeRawPointer($0).assumingMemoryBound(to: UInt8.self) }
    return WindowService.alloc(name, UInt64(UInt(bitPattern: size)), UInt64(UInt(bitPattern: align)), prot, flags,
                               CallStack(frames, depth)).raw
}

/// In a forked child, with the lock held by the child's thread: forget what
/// the child did not inherit, then release the lock (applying what signal
/// handlers logged meanwhile).
@_cdecl("mw_engine_forked")
func mw_engine_forked() {
    engine!.pointee.generation &+= 1
    engine!.pointee.calls = CallCounts()
    // A child inherits no memory locks (VM_LOCKED cleared, MCL_FUTURE gone).
    engine!.pointee.lockFuture = false
    WindowService.markAllLocked(false, &engine!.pointee)
    for i in 0..<Windows.count { engine!.pointee.files[i].ownDescriptionAfterFork(window: config.windows[i]) }
    WindowService.forgetNotInherited(&engine!.pointee)
    WindowService.unlockApplyingDeferred()
}

@_cdecl("mw_engine_snapshot")
func mw_engine_snapshot(_ path: UnsafePointer<CChar>?, _ fromSignal: Int32) -> Int32 {
    // mapwarden_report_now from a handler that interrupted the engine on
    // this thread: EAGAIN, as every API call there (the lock is this thread's).
    if fromSignal == 0 && mw_owns_lock() != 0 { return -EAGAIN }
    if fromSignal != 0 && mw_owns_lock() != 0 {
        // The signal interrupted this thread inside the engine: the
        // registry may be mid-change. The engine writes it at the unlock.
        guard let e = mw_deferred_reserve() else { return -EAGAIN }
        e.pointee.lo = 0
        e.pointee.hi = 0
        e.pointee.op = MW_DEFERRED_SNAPSHOT.rawValue
        return 0
    }
    return Int32(Snapshot.write(to: path, demangling: fromSignal == 0))
}

@_cdecl("mw_engine_snapshot_signal")
func mw_engine_snapshot_signal() -> Int32 {
    engine == nil ? 0 : config.snapshotSignal
}

@_cdecl("mw_engine_exit")
func mw_engine_exit(_ how: Int32) -> Int32 {
    let status = LeakReport.writeAtExit(endedBy: how)
    let atOnce = how != Int32(MW_END_EXIT.rawValue)
    // _exit skips the program's exit handlers, where persistent heaps
    // finish their writes: the window files stay marked open, as after a crash.
    if atOnce { return status }
    for i in 0..<Windows.count where engine!.pointee.files[i].isOpen {
        engine!.pointee.files[i].closeAtExit(window: config.windows[i], pageSize: config.space.pageSize)
    }
    return status
}
