print("flashrnn")
