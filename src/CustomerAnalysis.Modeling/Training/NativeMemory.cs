using System.Runtime.InteropServices;

namespace CustomerAnalysis.Modeling.Training;

/// <summary>
/// glibc keeps memory freed by libtorch in its arenas; without trimming, a training process's native memory climbs
/// to gigabytes. Trimming every few steps keeps it flat.
/// </summary>
internal static partial class NativeMemory
{
    [DllImport("libc", EntryPoint = "malloc_trim")]
    private static extern int MallocTrim(nuint pad);

    public static void Trim()
    {
        if (!OperatingSystem.IsLinux()) return;
        try { _ = MallocTrim(0); } // 1 if memory was released, 0 if none could be: either is fine
        catch (EntryPointNotFoundException) { } // Not glibc (e.g. musl): nothing to trim.
        catch (DllNotFoundException) { }
    }
}
