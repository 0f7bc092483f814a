Console.WriteLine("usage: bench <name>");
