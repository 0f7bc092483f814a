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
        try { MallocTrim(0); }
        catch (EntryPointNotFoundException) { } // Not glibc (e.g. musl): nothing to trim.
        catch (DllNotFoundException) { }
    }
}
