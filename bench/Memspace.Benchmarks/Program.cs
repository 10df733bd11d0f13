System.Console.WriteLine("b");
