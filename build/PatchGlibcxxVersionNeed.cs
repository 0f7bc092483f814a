using System;
using System.IO;
using System.Text;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

/// <summary>
/// Marks one version requirement (e.g. GLIBCXX_3.4.32) of an ELF64 little-endian shared library as weak
/// (VER_FLG_WEAK), so the dynamic loader accepts a libstdc++ that lacks that version. Walks the file properly:
/// section headers → .gnu.version_r (SHT_GNU_verneed) → Verneed entries → their Vernaux entries, whose names
/// are read from the linked string table (.dynstr). Idempotent; files that do not exist are skipped.
/// </summary>
public sealed class PatchGlibcxxVersionNeed : Task
{
    private const uint ShtGnuVerneed = 0x6ffffffe;
    private const ushort VerFlgWeak = 0x2;

    [Required] public ITaskItem[] Files { get; set; } = Array.Empty<ITaskItem>();
    [Required] public string VersionName { get; set; } = "";

    public override bool Execute()
    {
        foreach (var item in Files)
        {
            var path = item.GetMetadata("FullPath");
            if (!File.Exists(path)) continue;
            try
            {
                var bytes = File.ReadAllBytes(path);
                var outcome = MarkWeak(bytes, VersionName);
                if (outcome == Outcome.Patched)
                {
                    // Write a new file and move it over the old one: if the copy was a hard link into the NuGet
                    // cache, the cache keeps its original bytes.
                    var temporary = path + ".patching";
                    File.WriteAllBytes(temporary, bytes);
                    File.Delete(path);
                    File.Move(temporary, path);
                    Log.LogMessage(MessageImportance.Normal, $"Marked {VersionName} weak in {path}.");
                }
                else
                {
                    Log.LogMessage(MessageImportance.Low, $"{path}: {outcome}.");
                }
            }
            catch (InvalidDataException e)
            {
                Log.LogError($"Cannot patch {path}: {e.Message}");
            }
        }
        return !Log.HasLoggedErrors;
    }

    public enum Outcome { Patched, AlreadyWeak, NoSuchRequirement }

    public static Outcome MarkWeak(byte[] elf, string versionName)
    {
        if (elf.Length < 64 || elf[0] != 0x7f || elf[1] != (byte)'E' || elf[2] != (byte)'L' || elf[3] != (byte)'F')
            throw new InvalidDataException("not an ELF file");
        if (elf[4] != 2 || elf[5] != 1)
            throw new InvalidDataException("only 64-bit little-endian ELF files are supported");

        var sectionHeadersOffset = checked((int)ReadUInt64(elf, 0x28));
        int sectionHeaderSize = ReadUInt16(elf, 0x3A);
        int sectionCount = ReadUInt16(elf, 0x3C);
        var outcome = Outcome.NoSuchRequirement;

        for (var section = 0; section < sectionCount; section++)
        {
            var header = sectionHeadersOffset + section * sectionHeaderSize;
            if (ReadUInt32(elf, header + 4) != ShtGnuVerneed) continue;
            var verneedOffset = checked((int)ReadUInt64(elf, header + 0x18));
            var stringTableIndex = (int)ReadUInt32(elf, header + 0x28);
            var verneedCount = (int)ReadUInt32(elf, header + 0x2C);
            var stringTableHeader = sectionHeadersOffset + stringTableIndex * sectionHeaderSize;
            var stringTableOffset = checked((int)ReadUInt64(elf, stringTableHeader + 0x18));

            var verneed = verneedOffset;
            for (var n = 0; n < verneedCount; n++)
            {
                // Elf64_Verneed: vn_version u16, vn_cnt u16, vn_file u32, vn_aux u32, vn_next u32.
                int auxCount = ReadUInt16(elf, verneed + 2);
                var vernaux = verneed + (int)ReadUInt32(elf, verneed + 8);
                for (var a = 0; a < auxCount; a++)
                {
                    // Elf64_Vernaux: vna_hash u32, vna_flags u16, vna_other u16, vna_name u32, vna_next u32.
                    var name = ReadCString(elf, stringTableOffset + (int)ReadUInt32(elf, vernaux + 8));
                    if (name == versionName)
                    {
                        var flags = ReadUInt16(elf, vernaux + 4);
                        if ((flags & VerFlgWeak) != 0)
                        {
                            if (outcome == Outcome.NoSuchRequirement) outcome = Outcome.AlreadyWeak;
                        }
                        else
                        {
                            WriteUInt16(elf, vernaux + 4, (ushort)(flags | VerFlgWeak));
                            outcome = Outcome.Patched;
                        }
                    }
                    var nextAux = (int)ReadUInt32(elf, vernaux + 12);
                    if (nextAux == 0) break;
                    vernaux += nextAux;
                }
                var nextNeed = (int)ReadUInt32(elf, verneed + 12);
                if (nextNeed == 0) break;
                verneed += nextNeed;
            }
        }
        return outcome;
    }

    private static void Check(byte[] data, int offset, int length)
    {
        if (offset < 0 || offset + length > data.Length)
            throw new InvalidDataException($"offset {offset} is outside the file");
    }

    private static ushort ReadUInt16(byte[] d, int o) { Check(d, o, 2); return (ushort)(d[o] | d[o + 1] << 8); }

    private static uint ReadUInt32(byte[] d, int o) { Check(d, o, 4); return BitConverter.ToUInt32(d, o); }

    private static ulong ReadUInt64(byte[] d, int o) { Check(d, o, 8); return BitConverter.ToUInt64(d, o); }

    private static void WriteUInt16(byte[] d, int o, ushort value) { Check(d, o, 2); d[o] = (byte)value; d[o + 1] = (byte)(value >> 8); }

    private static string ReadCString(byte[] d, int o)
    {
        var end = o;
        while (true) { Check(d, end, 1); if (d[end] == 0) break; end++; }
        return Encoding.ASCII.GetString(d, o, end - o);
    }
}
