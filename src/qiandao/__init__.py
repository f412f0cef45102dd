"""qiandao: the 社情民意 workflow of CPPCC offices as a library."""
