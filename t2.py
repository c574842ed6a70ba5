def work(n): return n
for i in range(5): work(i)
